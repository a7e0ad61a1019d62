/**
 * The peer in its own Node 22 process (the node that runs the benchmark, i.e. the project's
 * `node` devDependency under `npm run`), with NODE_ENV=production, configured with the same
 * clients (the dev seed's, plus the bench client) and users; storage in memory or in a SQLite
 * database file (bench/peer/sqlite-adapter.ts) in a directory of its own, removed on stop.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { join } from "node:path";
import { DEV_CLIENTS, DEV_USERS, type DevClient } from "../../scripts/lib/dev-seed.ts";
import { PROJECT_ROOT } from "../../scripts/lib/wrangler.ts";
import { BENCH_CIBA_CLIENT, BENCH_USERS } from "./edge";

export type PeerStorage = "memory" | "sqlite";

export interface PeerOptions {
  storage: PeerStorage;
  /** The directory for the SQLite database's own temporary directory (storage "sqlite"). */
  databaseParent?: string;
}

export interface PeerInstance {
  url: URL;
  /** The SQLite database file (storage "sqlite"). */
  database?: string;
  pid: number;
  version: string;
  startupMs: number;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

function peerClient(client: DevClient): Record<string, unknown> {
  return {
    client_id: client.client_id,
    client_secret: client.client_secret,
    client_name: client.client_name,
    token_endpoint_auth_method: client.token_endpoint_auth_method,
    grant_types: client.grant_types,
    redirect_uris: client.redirect_uris,
    response_types: client.grant_types.includes("authorization_code") ? ["code"] : [],
    scope: client.scope,
    ...(client.backchannel_token_delivery_mode
      ? { backchannel_token_delivery_mode: client.backchannel_token_delivery_mode }
      : {}),
  };
}

export function peerVersion(): string {
  const require = createRequire(import.meta.url);
  return (require("oidc-provider/package.json") as { version: string }).version;
}

export async function startPeer(options: PeerOptions = { storage: "memory" }): Promise<PeerInstance> {
  const port = await freePort();
  const directory =
    options.storage === "sqlite"
      ? mkdtempSync(join(options.databaseParent ?? "/tmp", "edge-op-bench-peer-"))
      : undefined;
  const database = directory ? join(directory, "oidc-provider.sqlite") : undefined;
  const removeDatabase = () => {
    if (directory) rmSync(directory, { recursive: true, force: true });
  };
  process.once("exit", removeDatabase);
  const config = {
    port,
    clients: [...DEV_CLIENTS, BENCH_CIBA_CLIENT].map(peerClient),
    users: [...DEV_USERS.map(({ password: _password, ...user }) => user), ...BENCH_USERS],
    storage: options.storage,
    database,
  };
  const t0 = performance.now();
  const child: ChildProcess = spawn(process.execPath, [join(PROJECT_ROOT, "bench", "peer", "server.ts")], {
    cwd: PROJECT_ROOT,
    env: { ...process.env, NODE_ENV: "production", BENCH_PEER_CONFIG: JSON.stringify(config) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  // Never outlive the benchmark, however it ends.
  const kill = () => child.kill("SIGTERM");
  process.once("exit", kill);
  child.once("exit", () => process.off("exit", kill));
  let stderr = "";
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  // node:sqlite says once that it is experimental; nothing else is expected on stderr.
  // The peer logs one line per CIBA request (its "notification"); read and drop them.
  child.stdout?.resume();
  const url = new URL(`http://127.0.0.1:${port}`);
  const discovery = new URL("/.well-known/openid-configuration", url);
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      removeDatabase();
      throw new Error(`the peer exited (${child.exitCode}): ${stderr}`);
    }
    try {
      const response = await fetch(discovery);
      await response.arrayBuffer();
      if (response.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`the peer did not start: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const startupMs = performance.now() - t0;
  return {
    url,
    database,
    pid: child.pid as number,
    version: peerVersion(),
    startupMs,
    stop: () =>
      new Promise<void>((resolve) => {
        const done = () => {
          removeDatabase();
          process.off("exit", removeDatabase);
          resolve();
        };
        if (child.exitCode !== null) return done();
        child.once("exit", done);
        child.kill("SIGTERM");
      }),
  };
}
