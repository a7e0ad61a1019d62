/**
 * edge-op and the floor in workerd, through the Miniflare API (never `wrangler dev`): the
 * bindings come from wrangler.toml exactly as wrangler's own local runtime reads them
 * (`unstable_getMiniflareWorkerOptions`), the code from the bundles `wrangler deploy --dry-run`
 * built. Requests go to each Worker's own socket (`unsafeDirectSockets`), with no proxy or
 * Miniflare entry Worker in front. Storage is Miniflare's in-memory default: fresh per instance.
 *
 * The database gets the migrations (migrations/*.sql, split by wrangler's own splitter) and the
 * dev seed (scripts/lib/dev-seed.ts: the demo clients and users, rows built by the provider's
 * own clientRow/userRow), plus one bench client: demo-ciba with a 1 s CIBA polling interval.
 */
import { accessSync, constants, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { convertV4MiniflareOptions, Log, LogLevel, Miniflare } from "miniflare";
import { unstable_getMiniflareWorkerOptions, unstable_splitSqlQuery } from "wrangler";
import type { DevSecrets } from "../../scripts/lib/dev-secrets.ts";
import { DEMO_CIBA_CLIENT, type DevClient, devSeedSql } from "../../scripts/lib/dev-seed.ts";
import { scopesSupported } from "../../scripts/lib/settings.ts";
import { clientUpsertStatement, insertStatement } from "../../scripts/lib/sql.ts";
import { PROJECT_ROOT } from "../../scripts/lib/wrangler.ts";
import { validateClientRegistration } from "../../src/clients/metadata.ts";
import { clientRow } from "../../src/clients/registry.ts";
import { userRow } from "../../src/users/store.ts";
import { descendantsNamed } from "./cpu";

export const EDGE_WORKER = "edge-op";
export const FLOOR_WORKER = "floor";

/** The bench's CIBA client: demo-ciba with a 1 s polling interval, so a flow waits 1 s, not 5. */
export const BENCH_CIBA_CLIENT: DevClient = {
  ...DEMO_CIBA_CLIENT,
  client_id: "bench-ciba",
  client_secret: "bench-ciba-secret",
  client_name: "Benchmark kiosk (CIBA, 1 s interval)",
  ciba_polling_interval: 1,
};

/**
 * The users CIBA flows are for: flow i asks user i mod BENCH_USER_COUNT, as real traffic comes
 * from many users, each with a request or two pending (one user with hundreds pending would meet
 * the per-user limits and make every per-user lookup scan hundreds of rows).
 */
export const BENCH_USER_COUNT = 256;

export interface BenchUser {
  sub: string;
  username: string;
  name: string;
}

export const BENCH_USERS: readonly BenchUser[] = Array.from({ length: BENCH_USER_COUNT }, (_, i) => ({
  sub: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
  username: `bench-user-${i}`,
  name: `Bench User ${i}`,
}));

/**
 * Every rate limit of wrangler.toml is raised to this: the bench is one client and one user, from
 * one address, sending thousands of requests per second (PAR_BY_CLIENT alone would answer 429
 * after 60 pushes per 10 s, the sign-in limits would refuse the set-up's sign-ins). The limiters
 * are still called on every request, so their cost is measured; only their refusals are not.
 */
const BENCH_RATE_LIMIT = 1_000_000;

export interface EdgeOptions {
  edgeScript?: string;
  /** The checkout edge-op's wrangler.toml is read from (another revision's for --baseline). */
  projectRoot?: string;
  floorScript?: string;
  secrets: DevSecrets;
  /** Extra plain bindings for edge-op (settings), e.g. for the counting pass. */
  vars?: Record<string, string>;
  /** Where D1, KV and Durable Object data live (default: tmpfs when there is one). */
  persistTo?: string;
  /** Open workerd's V8 inspector on this port (for the profiling pass). */
  inspectorPort?: number;
}

export interface EdgeInstance {
  mf: Miniflare;
  urls: Partial<Record<string, URL>>;
  /** The workerd process(es) of this instance, for CPU accounting. */
  pids: number[];
  /** From `new Miniflare()` to the first 200 (discovery on edge-op, else /hello on the floor). */
  startupMs: number;
  /** Where this instance keeps its D1, KV and Durable Object data. */
  storage: string;
  dispose(): Promise<void>;
}

type V4Options = Parameters<typeof convertV4MiniflareOptions>[0];
type V4Worker = Extract<V4Options, { workers: unknown[] }>["workers"][number];

function edgeWorker(
  name: string,
  scriptPath: string,
  secrets: DevSecrets,
  vars: Record<string, string> = {},
  root = PROJECT_ROOT,
): V4Worker {
  const { workerOptions } = unstable_getMiniflareWorkerOptions(join(root, "wrangler.toml"));
  type RateLimit = { simple: { limit: number; period?: number } } & Record<string, unknown>;
  const ratelimits: Record<string, RateLimit> = { ...((workerOptions.ratelimits ?? {}) as Record<string, RateLimit>) };
  for (const [binding, configured] of Object.entries(ratelimits)) {
    ratelimits[binding] = { ...configured, simple: { ...configured.simple, limit: BENCH_RATE_LIMIT } };
  }
  // Everything wrangler derives from wrangler.toml is passed on (new bindings included), except
  // what only concerns wrangler's own bundling (the bundle is already built) and empty entries,
  // which Miniflare's v4 → v5 option converter refuses.
  const bundlingOnly = new Set(["rootPath", "modulesRules", "modulesRoot"]);
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(workerOptions)) {
    const empty =
      value === undefined || (typeof value === "object" && value !== null && Object.keys(value).length === 0);
    if (!bundlingOnly.has(key) && !empty) options[key] = value;
  }
  return {
    ...options,
    name,
    modules: true,
    scriptPath,
    bindings: { ...(workerOptions.bindings ?? {}), ...secrets, ...vars },
    ratelimits,
    unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
  } as unknown as V4Worker;
}

function floorWorker(scriptPath: string): V4Worker {
  return {
    name: FLOOR_WORKER,
    modules: true,
    scriptPath,
    compatibilityDate: "2026-11-01",
    d1Databases: { FLOOR_DB: "floor-db" },
    durableObjects: { FLOOR_OBJECTS: { className: "FloorObject", useSQLite: true } },
    unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }],
  };
}

async function firstOk(url: URL, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const response = await fetch(url);
      await response.arrayBuffer();
      if (response.status === 200) return;
      if (Date.now() > deadline) throw new Error(`${url} answered ${response.status}`);
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * Storage on tmpfs when the machine has one: locally every new Durable Object is a new SQLite
 * file, and on a disk-backed temporary directory creating and syncing those files dominated the
 * measurement (about 3x the CPU and a quarter of the throughput of the floor on these machines),
 * which is a cost of the simulator, not of the platform.
 */
function storageDirectory(): string | undefined {
  try {
    accessSync("/dev/shm", constants.W_OK);
    return mkdtempSync("/dev/shm/edge-op-bench-");
  } catch {
    return undefined;
  }
}

export async function startEdge(options: EdgeOptions): Promise<EdgeInstance> {
  const persistTo = options.persistTo ?? storageDirectory();
  const ownsStorage = persistTo !== undefined && options.persistTo === undefined;
  // However the run ends (an error, Ctrl-C, a CI timeout), the tmpfs directory goes with it.
  const removeStorage = () => {
    if (ownsStorage) rmSync(persistTo, { recursive: true, force: true });
  };
  process.once("exit", removeStorage);
  const workers: V4Worker[] = [];
  if (options.edgeScript)
    workers.push(edgeWorker(EDGE_WORKER, options.edgeScript, options.secrets, options.vars, options.projectRoot));
  if (options.floorScript) workers.push(floorWorker(options.floorScript));
  const before = new Set(descendantsNamed(process.pid, "workerd"));
  const t0 = performance.now();
  const mf = new Miniflare(
    convertV4MiniflareOptions({
      log: new Log(LogLevel.WARN),
      cf: false,
      ...(options.inspectorPort ? { inspectorPort: options.inspectorPort } : {}),
      ...(persistTo ? { resourcePersistencePath: persistTo } : {}),
      handleStructuredLogs: () => {},
      workers,
    }),
  );
  await mf.ready;
  const urls: Partial<Record<string, URL>> = {};
  for (const worker of workers) urls[worker.name as string] = await mf.unsafeGetDirectURL(worker.name);
  const probe = options.edgeScript
    ? new URL("/.well-known/openid-configuration", urls[EDGE_WORKER])
    : new URL("/hello", urls[FLOOR_WORKER]);
  await firstOk(probe);
  const startupMs = performance.now() - t0;
  const pids = descendantsNamed(process.pid, "workerd").filter((pid) => !before.has(pid));
  const dispose = async () => {
    try {
      await mf.dispose();
    } finally {
      removeStorage();
      process.off("exit", removeStorage);
    }
  };
  return { mf, urls, pids, startupMs, storage: persistTo ?? "Miniflare's temporary directory", dispose };
}

/**
 * The floor's D1 tables, with one session (the Cookie header the floor's code flow sends) and its
 * user. Returns that Cookie header.
 */
export async function seedFloor(url: URL, subject: string): Promise<string> {
  const session = `floor-session-${subject}`;
  const response = await fetch(new URL("/floor/setup", url), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ session, subject }),
  });
  if (response.status !== 200) throw new Error(`floor set-up answered ${response.status}: ${await response.text()}`);
  return session;
}

/** Migrations, the dev seed and the bench client, into the edge-op Worker's D1 database. */
export async function seedDatabase(mf: Miniflare, secrets: DevSecrets): Promise<void> {
  const db = await mf.getD1Database("DB", EDGE_WORKER);
  const migrations = readdirSync(join(PROJECT_ROOT, "migrations"))
    .filter((file) => file.endsWith(".sql"))
    .sort();
  const statements: string[] = [];
  for (const file of migrations) {
    statements.push(...unstable_splitSqlQuery(readFileSync(join(PROJECT_ROOT, "migrations", file), "utf8")));
  }
  const scopes = scopesSupported();
  statements.push(
    ...unstable_splitSqlQuery(
      await devSeedSql({ scopesSupported: scopes, dataEncryptionKey: secrets.DATA_ENCRYPTION_KEY }),
    ),
  );
  validateClientRegistration(BENCH_CIBA_CLIENT, scopes, { minimumSecretLength: 15 });
  const row = await clientRow(BENCH_CIBA_CLIENT, secrets.DATA_ENCRYPTION_KEY);
  statements.push(clientUpsertStatement(row));
  for (const statement of statements) {
    if (statement.replace(/--.*$/gm, "").trim() === "") continue;
    await db.prepare(statement).run();
  }
}

/**
 * The CIBA flows' users (BENCH_USERS) into a Worker's D1 database: rows made by the product's
 * own userRow (one password hash, shared: they never sign in), keeping only the columns that
 * database's users table has, so that a baseline revision's schema takes them too.
 */
export async function seedBenchUsers(mf: Miniflare, workerName = EDGE_WORKER): Promise<void> {
  const db = await mf.getD1Database("DB", workerName);
  const columns = new Set(
    (await db.prepare("PRAGMA table_info(users)").all<{ name: string }>()).results.map((c) => c.name),
  );
  const template = await userRow({ username: "bench-user", password: "bench-user-password" });
  const statements = BENCH_USERS.map((user) => {
    const row: Record<string, unknown> = { ...template, sub: user.sub, username: user.username, name: user.name };
    const kept = Object.fromEntries(Object.entries(row).filter(([column]) => columns.has(column)));
    return db.prepare(insertStatement("users", kept as Record<string, string | number | null>, { orReplace: true }));
  });
  await db.batch(statements);
}
