/**
 * Issue 19, KV lag for PAR: the browser reaches /authorize at the user's edge, usually not where
 * the client pushed, often within a second, and KV there can miss (and cache the miss) for up to
 * 60 s. The pushed request's encrypted copy held beside its one-time-use fence (ReplayGuard)
 * answers that miss (src/par/pushed-request-store.ts). Tested with a KV binding that misses on
 * the first read of every key, as a lagging location would.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../src/crypto/hash";
import { createProvider, KvPushedAuthorizationRequestStore } from "../src/index";
import { pushedRequest } from "./conformance/pushed-request-store";
import { pkce } from "./helpers/authorize";
import { registerClient } from "./helpers/fixtures";
import { basic, ISSUER } from "./helpers/http";

const SECRET = "lagging-app-secret-0123456789";
const CALLBACK = "https://app.example/cb";

/** A KV namespace as seen from a location the write has not reached yet: each key misses once. */
function laggingKv(kv: KVNamespace): { namespace: KVNamespace; misses: string[] } {
  const seen = new Set<string>();
  const misses: string[] = [];
  const get = (async (key: string, options?: unknown) => {
    if (!seen.has(key)) {
      seen.add(key);
      misses.push(key);
      return null;
    }
    return kv.get(key, options as "text");
  }) as KVNamespace["get"];
  const namespace = new Proxy(kv, {
    get: (target, property) => {
      if (property === "get") return get;
      const value: unknown = Reflect.get(target, property, target);
      // The runtime's methods must be called on the binding itself, not on the proxy.
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { namespace, misses };
}

const lag = laggingKv(env.PAR_REQUESTS);
const interaction = 600;
const store = new KvPushedAuthorizationRequestStore({ ...env, PAR_REQUESTS: lag.namespace }, interaction);

const provider = createProvider<Cloudflare.Env>({
  stores: {
    pushedRequests: (_env, context) =>
      new KvPushedAuthorizationRequestStore(
        { ...context.bindings, PAR_REQUESTS: lag.namespace },
        context.settings.parInteractionLifetime,
      ),
  },
});

async function fetchLagging(path: string, init?: RequestInit): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await provider.fetch(new Request(`${ISSUER}${path}`, init), env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

beforeAll(async () => {
  await registerClient({
    client_id: "lagging-app",
    client_secret: SECRET,
    grant_types: ["authorization_code"],
    redirect_uris: [CALLBACK],
    scope: "openid",
  });
});

describe("KV lag for PAR (issue 19): a KV miss is answered from the copy held with the fence", () => {
  it("RFC 9126 §4: /authorize finds a request_uri that KV misses on first read at the user's location", async () => {
    const { challenge } = await pkce();
    const pushed = await fetchLagging("/par", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...basic("lagging-app", SECRET) },
      body: new URLSearchParams({
        response_type: "code",
        redirect_uri: CALLBACK,
        scope: "openid",
        state: "lag-state",
        code_challenge: challenge,
        code_challenge_method: "S256",
      }).toString(),
    });
    expect(pushed.status).toBe(201);
    const { request_uri: requestUri } = await pushed.json<{ request_uri: string }>();
    const reference = requestUri.split(":").pop() ?? "";
    const missesBefore = lag.misses.length;

    const response = await fetchLagging(
      `/authorize?client_id=lagging-app&request_uri=${encodeURIComponent(requestUri)}`,
    );
    // The first read at this "location" missed in KV …
    expect(lag.misses.slice(missesBefore)).toContain(`par:${await sha256Hex(reference)}`);
    // … and /authorize still went on to sign-in, not the invalid_request_uri page.
    expect(response.status).toBeLessThan(400);
    expect(await response.text()).not.toContain("invalid_request_uri");
  });

  it("the held copy is used once: after consumption a KV miss and a KV hit both find nothing", async () => {
    const request = await pushedRequest(60, "lagging-app");
    await store.store(request);
    const found = await store.getByHash(request.referenceValueHash, "lagging-app");
    expect(found?.parameters).toBe(request.parameters);
    const results = await Promise.all([store.consumeByHash(request), store.consumeByHash(request)]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await store.getByHash(request.referenceValueHash, "lagging-app")).toBeUndefined();
    // The copy in KV (a lagging replica may still show it) does not reopen it either.
    await env.PAR_REQUESTS.put(`par:${request.referenceValueHash}`, JSON.stringify({}));
    expect(await store.getByHash(request.referenceValueHash, "lagging-app")).toBeUndefined();
  });

  it("RFC 9126 §2.2: a KV miss with another client's id finds nothing (the copy lives in the pushing client's fence)", async () => {
    const request = await pushedRequest(60, "lagging-app");
    await store.store(request);
    expect(await store.getByHash(request.referenceValueHash, "someone-else")).toBeUndefined();
    // Without the client's id a miss stays a miss.
    const other = await pushedRequest(60, "lagging-app");
    await store.store(other);
    expect(await store.getByHash(other.referenceValueHash)).toBeUndefined();
  });

  it("RFC 9126 §2.2: a request first read after its lifetime is expired, from the held copy too", async () => {
    const request = await pushedRequest(-1, "lagging-app");
    await store.store(request);
    expect(await store.getByHash(request.referenceValueHash, "lagging-app")).toBeUndefined();
  });
});
