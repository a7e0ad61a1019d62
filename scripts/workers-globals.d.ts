/**
 * Typecheck-only (tsconfig.node.json). Node-side code (scripts, Node tests) imports src/
 * modules — client validation, row mapping, settings — whose files, or files they import, name
 * Workers globals such as D1Database. @cloudflare/workers-types cannot be loaded as global
 * types next to @types/node: Workers-only globals (caches, HTMLRewriter, Response#webSocket…)
 * would then type-check in code that runs in Node. So this file maps the Workers names src/
 * uses onto the package's importable, module-scoped declarations, and nothing else.
 *
 * If `npm run typecheck` reports "Cannot find name 'X'" in a src/ file under
 * tsconfig.node.json, src/ has started to use another Workers global: add X here.
 */

// D1
type D1Database = import("@cloudflare/workers-types").D1Database;
type D1PreparedStatement = import("@cloudflare/workers-types").D1PreparedStatement;
type D1Result<T = unknown> = import("@cloudflare/workers-types").D1Result<T>;
type D1Response = import("@cloudflare/workers-types").D1Response;
type D1Meta = import("@cloudflare/workers-types").D1Meta;
type D1ExecResult = import("@cloudflare/workers-types").D1ExecResult;

// KV
type KVNamespace<Key extends string = string> = import("@cloudflare/workers-types").KVNamespace<Key>;
type KVNamespacePutOptions = import("@cloudflare/workers-types").KVNamespacePutOptions;

// Durable Objects
declare namespace Rpc {
  type DurableObjectBranded = import("@cloudflare/workers-types").Rpc.DurableObjectBranded;
}
type DurableObjectBranded = import("@cloudflare/workers-types").Rpc.DurableObjectBranded;
type DurableObjectNamespace<T extends DurableObjectBranded | undefined = undefined> =
  import("@cloudflare/workers-types").DurableObjectNamespace<T>;
type DurableObjectStub<T extends DurableObjectBranded | undefined = undefined> =
  import("@cloudflare/workers-types").DurableObjectStub<T>;
type DurableObjectId = import("@cloudflare/workers-types").DurableObjectId;
type DurableObjectState<Props = unknown> = import("@cloudflare/workers-types").DurableObjectState<Props>;
type DurableObjectStorage = import("@cloudflare/workers-types").DurableObjectStorage;
type DurableObjectTransaction = import("@cloudflare/workers-types").DurableObjectTransaction;
type AlarmInvocationInfo = import("@cloudflare/workers-types").AlarmInvocationInfo;
type SqlStorage = import("@cloudflare/workers-types").SqlStorage;
type SyncKvStorage = import("@cloudflare/workers-types").SyncKvStorage;
type SqlStorageValue = import("@cloudflare/workers-types").SqlStorageValue;
type SqlStorageCursor<T extends Record<string, SqlStorageValue>> =
  import("@cloudflare/workers-types").SqlStorageCursor<T>;

// The per-user object's hibernatable WebSockets (src/users/user-object.ts)
declare const WebSocketPair: typeof import("@cloudflare/workers-types").WebSocketPair;
declare const WebSocketRequestResponsePair: typeof import("@cloudflare/workers-types").WebSocketRequestResponsePair;

// Other bindings
type RateLimit = import("@cloudflare/workers-types").RateLimit;
type RateLimitOptions = import("@cloudflare/workers-types").RateLimitOptions;
type RateLimitOutcome = import("@cloudflare/workers-types").RateLimitOutcome;
type Queue<Body = unknown> = import("@cloudflare/workers-types").Queue<Body>;
type Fetcher<T extends import("@cloudflare/workers-types").Rpc.EntrypointBranded | undefined = undefined> =
  import("@cloudflare/workers-types").Fetcher<T>;

// Workers runtime
type ExecutionContext<Props = unknown> = import("@cloudflare/workers-types").ExecutionContext<Props>;
type ScheduledController = import("@cloudflare/workers-types").ScheduledController;

// Workers exposes CryptoKey as a global; Node (without the DOM lib) only as webcrypto.CryptoKey,
// which is what Node's crypto.subtle returns.
type CryptoKey = import("node:crypto").webcrypto.CryptoKey;

declare module "cloudflare:workers" {
  import { CloudflareWorkersModule } from "@cloudflare/workers-types";
  export = CloudflareWorkersModule;
}
