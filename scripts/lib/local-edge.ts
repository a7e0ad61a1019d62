/**
 * edge-op as a local runtime process that can be stopped and started again, for the fault tests
 * (test/faults), the soak (scripts/soak.ts) and the fuzz run (scripts/fuzz.ts).
 *
 * What runs is the product bundle, exactly what `wrangler deploy` would upload (built with
 * `wrangler deploy --dry-run`), in workerd through the Miniflare API, started the way the
 * benchmark starts it (bench/lib/edge.ts: bindings read from wrangler.toml, the Worker on its
 * own loopback socket, every rate limit raised so that one test client is never refused). D1, KV
 * and Durable Object state live in a directory of their own, as `npm start` keeps them in
 * .wrangler/state, so a new process finds everything the previous one wrote, scheduled alarms
 * included.
 *
 * `stop()` is abrupt: Miniflare's dispose() sends SIGKILL to workerd, so nothing gets a chance
 * to flush or finish; what survives is only what the runtime had committed to storage. The
 * keys (SIGNING_KEYS, DATA_ENCRYPTION_KEY) are made once per instance and kept across restarts,
 * as .dev.vars keeps them.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EdgeInstance, FLOOR_WORKER, seedBenchUsers, seedDatabase, startEdge } from "../../bench/lib/edge.ts";
import { validateClientRegistration } from "../../src/clients/metadata.ts";
import { clientRow } from "../../src/clients/registry.ts";
import { type DevSecrets, generateDevSecrets } from "./dev-secrets.ts";
import type { DevClient } from "./dev-seed.ts";
import { allowHttpNotificationEndpoints, scopesSupported } from "./settings.ts";
import { clientUpsertStatement } from "./sql.ts";
import { PROJECT_ROOT, runWrangler, WranglerError } from "./wrangler.ts";

/**
 * Bundles a Worker as `wrangler deploy` would (edge-op: src/worker.ts with wrangler.toml; the
 * benchmark's floor Worker: bench/floor/wrangler.toml) into `outdir`; returns the script's path.
 */
export async function buildWorker(outdir: string, config = "wrangler.toml"): Promise<string> {
  rmSync(outdir, { recursive: true, force: true });
  const args = ["deploy", "--dry-run", "--outdir", outdir, "--config", join(PROJECT_ROOT, config)];
  const result = await runWrangler(args);
  if (result.code !== 0) throw new WranglerError("deploy --dry-run", result);
  // Named after wrangler.toml's main (src/worker.ts → worker.js).
  const script = readdirSync(outdir).find((file) => file.endsWith(".js"));
  if (!script) throw new Error(`wrangler wrote no .js bundle to ${outdir}`);
  return join(outdir, script);
}

/** A directory on tmpfs when there is one (a new Durable Object is a new SQLite file). */
function stateDirectory(): string {
  for (const base of ["/dev/shm", tmpdir()]) {
    try {
      return mkdtempSync(join(base, "edge-op-local-"));
    } catch {
      // not writable: try the next
    }
  }
  throw new Error("no writable temporary directory");
}

export interface LocalEdgeOptions {
  /** The bundle (buildWorker). */
  script: string;
  /** Settings over wrangler.toml's, as `wrangler dev --var` would give them. */
  vars?: Record<string, string>;
  /** Clients registered beside the dev seed's (client_secret is the dev-only secret). */
  clients?: readonly DevClient[];
  /** Also the 256 users of the benchmark (bench-user-0 … with password "bench-user-password"). */
  benchUsers?: boolean;
  /**
   * Also the benchmark's floor Worker (bench/floor, built with buildWorker) in the same process:
   * a bare Durable Object to measure what the runtime itself costs per object.
   */
  floorScript?: string;
  /** Open workerd's V8 inspector on this port (the Worker's JS heap, bench/lib/profile.ts). */
  inspectorPort?: number;
}

export class LocalEdge {
  private instance: EdgeInstance | undefined;
  /** How many times the process was started (1 after create). */
  starts = 0;

  private constructor(
    readonly options: LocalEdgeOptions,
    readonly secrets: DevSecrets,
    readonly stateDir: string,
  ) {}

  /** Starts a new process on empty state, then loads the migrations, the dev seed and `clients`. */
  static async create(options: LocalEdgeOptions): Promise<LocalEdge> {
    const edge = new LocalEdge(options, await generateDevSecrets(), stateDirectory());
    const removeState = () => rmSync(edge.stateDir, { recursive: true, force: true });
    process.once("exit", removeState);
    try {
      await edge.start();
      await edge.seed();
    } catch (error) {
      await edge.dispose();
      throw error;
    }
    return edge;
  }

  private async seed(): Promise<void> {
    const mf = this.running.mf;
    await seedDatabase(mf, this.secrets);
    if (this.options.benchUsers) await seedBenchUsers(mf);
    const scopes = scopesSupported(this.options.vars ?? {});
    const db = await this.db();
    for (const client of this.options.clients ?? []) {
      validateClientRegistration(client, scopes, {
        minimumSecretLength: 15,
        allowHttpNotificationEndpoints: allowHttpNotificationEndpoints(this.options.vars ?? {}),
      });
      const row = await clientRow(client, this.secrets.DATA_ENCRYPTION_KEY);
      await db.prepare(clientUpsertStatement(row)).run();
    }
  }

  private get running(): EdgeInstance {
    if (!this.instance) throw new Error("the local runtime is not running");
    return this.instance;
  }

  get isRunning(): boolean {
    return this.instance !== undefined;
  }

  /** The Worker's own socket (a new port after every start). */
  get url(): URL {
    const url = this.running.urls["edge-op"];
    if (!url) throw new Error("Miniflare gave no URL for edge-op");
    return url;
  }

  /** The floor Worker's socket, when it was asked for. */
  get floorUrl(): URL | undefined {
    return this.running.urls[FLOOR_WORKER];
  }

  /** The workerd process(es) of the running instance. */
  get pids(): number[] {
    return this.running.pids;
  }

  /** The Worker's D1 database, straight from Node (to look at what the Worker left behind). */
  db() {
    return this.running.mf.getD1Database("DB", "edge-op");
  }

  async start(): Promise<void> {
    if (this.instance) throw new Error("already running");
    this.instance = await startEdge({
      edgeScript: this.options.script,
      floorScript: this.options.floorScript,
      secrets: this.secrets,
      vars: this.options.vars,
      persistTo: this.stateDir,
      inspectorPort: this.options.inspectorPort,
    });
    this.starts += 1;
  }

  /** Kills workerd (SIGKILL, see above). */
  async stop(): Promise<void> {
    const instance = this.instance;
    this.instance = undefined;
    await instance?.dispose();
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Resident memory of the workerd process(es), in KiB (Linux /proc). */
  rssKiB(): number {
    let total = 0;
    for (const pid of this.pids) {
      try {
        const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
        total += Number(match?.[1] ?? 0);
      } catch {
        // the process is gone
      }
    }
    return total;
  }

  /** Stops the process and deletes its state. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}
