/**
 * `npm run bench`: edge-op against the platform floor of each scenario and against
 * node-oidc-provider (in memory and on SQLite), in one run.
 *
 *   npm run bench                        full run (see bench/README.md for how long); writes
 *                                        bench/RESULTS.md, bench/results/latest.json and chart.svg
 *   npm run bench -- --smoke             tiny counts (CI): checks every scenario on every target
 *                                        end to end; writes to bench/.out/smoke/, fails on any error
 *   npm run bench -- --baseline <rev>    also builds and measures another revision's Worker in the
 *                                        same run (target edge-op-baseline): before/after ratios
 *   npm run bench -- --peer-db-dir <d>   where oidc-provider-sqlite keeps its database file
 *                                        (default: the system's temporary directory, on disk)
 *
 * Steps: build the bundles with `wrangler deploy --dry-run` (sizes); measure start-up; start
 * edge-op and the floor in one workerd (Miniflare API), the baseline in a workerd of its own, and
 * the peers in Node 22 processes; sign in one browser per concurrent flow on each; warm up; run
 * every scenario at every concurrency level on every target, reading the server processes' CPU
 * time from /proc around each run; run CIBA once more in phases to attribute CPU to endpoints;
 * profile edge-op's isolate; then count platform operations per flow with the instrumented
 * builds and price them. See bench/README.md for the method.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type { Miniflare } from "miniflare";
import { type DevSecrets, generateDevSecrets } from "../scripts/lib/dev-secrets.ts";
import { DEV_USERS } from "../scripts/lib/dev-seed.ts";
import { assertSupportedNode, PROJECT_ROOT } from "../scripts/lib/wrangler.ts";
import { type BaselineBuild, buildAll, buildBaseline, OUT_DIR } from "./lib/build";
import { cpuMs, machineLoad } from "./lib/cpu";
import {
  BENCH_CIBA_CLIENT,
  BENCH_USERS,
  EDGE_WORKER,
  type EdgeInstance,
  FLOOR_WORKER,
  seedBenchUsers,
  seedDatabase,
  seedFloor,
  startEdge,
} from "./lib/edge";
import { HttpClient } from "./lib/http";
import { runLoad } from "./lib/load";
import { type PeerInstance, type PeerStorage, peerVersion, startPeer } from "./lib/peer";
import { costPerMillionFlows, monthlyCost, type OpsPerFlow } from "./lib/prices";
import { type CpuProfile, freePort, Inspector, summarizeProfile } from "./lib/profile";
import { renderReport } from "./lib/report";
import type {
  BenchResults,
  CountedOps,
  Measurement,
  PhaseMeasurement,
  Startup,
  StatementCounts,
  TargetId,
} from "./lib/results";
import {
  CIBA_PHASES,
  CIBA_POLL_WAIT_MS,
  cibaStart,
  SCENARIO_ORDER,
  SCENARIOS,
  type Scenario,
  type ScenarioContext,
  type ScenarioId,
  type StartedCiba,
} from "./lib/scenarios";
import { signInEdge, signInPeer } from "./lib/sessions";
import { median, round, summarize } from "./lib/stats";

interface Plan {
  mode: "full" | "smoke";
  levels: number[];
  repeats: number;
  flows(scenario: ScenarioId, level: number): number;
  warmup: number;
  phaseFlows: number;
  phaseConcurrency: number;
  countFlows: number;
  startupSamples: number;
}

const FULL: Plan = {
  mode: "full",
  levels: [1, 8, 32],
  repeats: 3,
  flows(scenario, level) {
    const table: Record<ScenarioId, [number, number, number]> = {
      ciba: [120, 400, 700],
      code: [100, 400, 700],
      par: [200, 800, 1200],
      client_credentials: [400, 1500, 2500],
      dpop_code: [100, 400, 700],
      dpop_client_credentials: [400, 1500, 2500],
    };
    return table[scenario][level === 1 ? 0 : level <= 8 ? 1 : 2];
  },
  warmup: 200,
  phaseFlows: 400,
  phaseConcurrency: 8,
  countFlows: 20,
  startupSamples: 3,
};

const SMOKE: Plan = {
  mode: "smoke",
  levels: [1, 4],
  repeats: 1,
  flows: () => 6,
  warmup: 4,
  phaseFlows: 6,
  phaseConcurrency: 4,
  countFlows: 3,
  startupSamples: 1,
};

interface Target {
  id: TargetId;
  ctx: ScenarioContext;
  pids: number[];
  scenarios: ScenarioId[];
  /** The floor Worker: runs each scenario's floor flow. */
  floor?: boolean;
  countersUrl?: URL;
}

function seedUser(username: string): { username: string; sub: string; password: string } {
  const user = DEV_USERS.find((u) => u.username === username);
  if (!user) throw new Error(`the dev seed has no user ${username}`);
  return user;
}

const ALICE = seedUser("alice");

function contextFor(baseUrl: URL): ScenarioContext {
  return {
    baseUrl,
    cibaClient: { id: BENCH_CIBA_CLIENT.client_id, secret: BENCH_CIBA_CLIENT.client_secret },
    webClient: { id: "demo-web", secret: "demo-web-secret", redirectUri: "http://localhost:3000/callback" },
    user: { loginHint: ALICE.username, subject: ALICE.sub, password: ALICE.password },
    cibaUsers: BENCH_USERS.map((u) => ({ loginHint: u.username, subject: u.sub })),
    cibaScope: "openid profile email",
    sessions: [],
  };
}

const runStarted = performance.now();

function log(message: string): void {
  const seconds = ((performance.now() - runStarted) / 1000).toFixed(1).padStart(6);
  process.stdout.write(`[bench ${seconds} s] ${message}\n`);
}

/** The installed version of a package (read from node_modules: not every package exports package.json). */
function packageVersion(name: string): string {
  const file = join(PROJECT_ROOT, "node_modules", name, "package.json");
  return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
}

/** The project formats Markdown with Biome (`npm run lint` checks it): format the generated report the same way. */
function formatMarkdown(path: string): void {
  const biome = join(PROJECT_ROOT, "node_modules", "@biomejs", "biome", "bin", "biome");
  const result = spawnSync(process.execPath, [biome, "format", "--write", path], {
    cwd: PROJECT_ROOT,
    encoding: "utf8",
  });
  if (result.status !== 0)
    log(`could not format ${relative(PROJECT_ROOT, path)} with Biome: ${result.stderr || result.stdout}`);
}

/** The filesystem a path is on, from /proc/mounts (the longest mount point that contains it). */
function filesystemOf(path: string): string {
  try {
    const mounts = readFileSync("/proc/mounts", "utf8")
      .split("\n")
      .map((line) => line.split(" "))
      .filter(
        ([, point]) => point !== undefined && (path === point || path.startsWith(point === "/" ? "/" : `${point}/`)),
      )
      .sort((a, b) => (b[1]?.length ?? 0) - (a[1]?.length ?? 0));
    const [device, point, type] = mounts[0] ?? [];
    return type ? `${type} ${device} on ${point}` : "filesystem unknown";
  } catch {
    return "filesystem unknown";
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let flowIndex = 0;

function flowOf(target: Target, scenario: Scenario) {
  return target.floor ? scenario.floorFlow : scenario.flow;
}

async function measure(target: Target, scenario: Scenario, concurrency: number, flows: number): Promise<Measurement> {
  const cpuBefore = cpuMs(target.pids);
  const driverBefore = process.cpuUsage();
  const offset = flowIndex;
  flowIndex += flows;
  const flow = flowOf(target, scenario);
  const result = await runLoad({
    flows,
    concurrency,
    makeFlow: (i, io) => flow(target.ctx, offset + i, io),
  });
  const driver = process.cpuUsage(driverBefore);
  const cpu = cpuMs(target.pids) - cpuBefore;
  const completed = Math.max(1, result.completed);
  const latency: Measurement["latency"] = {};
  for (const endpoint of scenario.endpoints) latency[endpoint] = summarize(result.latencies[endpoint] ?? []);
  return {
    target: target.id,
    scenario: scenario.id,
    concurrency,
    flows,
    completed: result.completed,
    failed: result.failed,
    errors: result.errors,
    firstError: result.firstError,
    wallMs: round(result.wallMs),
    busyMs: round(result.busyMs),
    flowsPerSecond: round((result.completed * 1000) / result.busyMs),
    requestsPerSecond: round((result.requests * 1000) / result.busyMs),
    cpuMsPerFlow: round(cpu / completed, 3),
    driverCpuMsPerFlow: round((driver.user + driver.system) / 1000 / completed, 3),
    latency,
  };
}

/** CIBA in phases: every flow's bc-authorize, then every pending poll, then every completion, then every token. */
async function cibaPhases(target: Target, flows: number, concurrency: number): Promise<PhaseMeasurement[]> {
  const ids: StartedCiba[] = [];
  const offset = flowIndex;
  flowIndex += flows;
  const out: PhaseMeasurement[] = [];
  let pendingDoneAt = 0;
  for (const phase of cibaPhaseRuns(target, offset, ids)) {
    if (phase.label === "token (tokens)") await sleep(Math.max(0, CIBA_POLL_WAIT_MS - (Date.now() - pendingDoneAt)));
    const cpuBefore = cpuMs(target.pids);
    const result = await runLoad({ flows, concurrency, makeFlow: singleStep(phase.run) });
    const cpu = cpuMs(target.pids) - cpuBefore;
    if (phase.label === "token (pending)") pendingDoneAt = Date.now();
    out.push({
      target: target.id,
      endpoint: phase.label,
      concurrency,
      requests: result.completed,
      failed: result.failed,
      cpuMsPerRequest: round(cpu / Math.max(1, result.completed), 3),
      requestsPerSecond: round((result.completed * 1000) / result.busyMs),
      latency: summarize(result.latencies[phase.label] ?? []),
    });
    if (result.failed > 0) log(`  ${target.id} phase ${phase.label}: ${result.failed} failed (${result.firstError})`);
  }
  return out;
}

// ------------------------------------------------------------------ counting pass

/** Whether the counting pass also counts CIBA endpoint by endpoint (full runs). */
let countPerEndpoint = true;

/** The counting pass shortens CIBA requests to this lifetime (and the grace to 0) to see their clean-up. */
const COUNT_CIBA_EXPIRY_S = 5;

interface RawCounters {
  workerRequests: number;
  doRequests: Record<string, number>;
  doAlarms: Record<string, number>;
  doActiveMs: number;
  doRowsRead: number;
  doRowsWritten: number;
  doSetAlarm: number;
  doDeleteAll?: number;
  doDeleteAllRows?: number;
  doDeleteAllRowsUnknown?: number;
  doKvReads: number;
  doKvWrites: number;
  d1Queries: number;
  d1RowsRead: number;
  d1RowsWritten: number;
  d1RowsUnknown: number;
  kvReads: number;
  kvWrites: number;
  kvDeletes: number;
  kvLists: number;
  doStatements: Record<string, StatementCounts>;
  d1Statements: Record<string, StatementCounts>;
}

async function readCounters(url: URL, reset = false): Promise<RawCounters> {
  const response = await fetch(new URL(reset ? "/__bench/counters/reset" : "/__bench/counters", url), {
    method: reset ? "POST" : "GET",
  });
  return (await response.json()) as RawCounters;
}

const sum = (record: Record<string, number>) => Object.values(record).reduce((a, b) => a + b, 0);

function perFlow(raw: RawCounters, flows: number): OpsPerFlow {
  const n = Math.max(1, flows);
  const r = (value: number) => round(value / n, 3);
  return {
    workerRequests: r(raw.workerRequests),
    doRequests: r(sum(raw.doRequests)),
    doAlarms: r(sum(raw.doAlarms)),
    doActiveMs: r(raw.doActiveMs),
    doRowsRead: r(raw.doRowsRead + raw.doKvReads),
    doRowsWritten: r(raw.doRowsWritten + raw.doKvWrites),
    doSetAlarm: r(raw.doSetAlarm),
    // a baseline's older counters may not have these
    doDeleteAll: r(raw.doDeleteAll ?? 0),
    doDeleteAllRows: r(raw.doDeleteAllRows ?? 0),
    kvReads: r(raw.kvReads),
    kvWrites: r(raw.kvWrites),
    kvDeletes: r(raw.kvDeletes),
    kvLists: r(raw.kvLists),
    d1Queries: r(raw.d1Queries),
    d1RowsRead: r(raw.d1RowsRead),
    d1RowsWritten: r(raw.d1RowsWritten),
    billedRowsWritten: r(raw.doRowsWritten + raw.doKvWrites + raw.doSetAlarm + raw.d1RowsWritten),
  };
}

function statementsPerFlow(
  statements: Record<string, StatementCounts>,
  flows: number,
): Record<string, StatementCounts> {
  const n = Math.max(1, flows);
  return Object.fromEntries(
    Object.entries(statements).map(([sql, c]) => [
      sql,
      { calls: round(c.calls / n, 3), rowsRead: round(c.rowsRead / n, 3), rowsWritten: round(c.rowsWritten / n, 3) },
    ]),
  );
}

type PhaseRun = { label: string; run: (i: number, io: Parameters<typeof cibaStart>[2]) => Promise<void> };

function cibaPhaseRuns(target: Target, offset: number, ids: StartedCiba[]): PhaseRun[] {
  return [
    {
      label: "bc-authorize",
      run: (i, io) =>
        cibaStart(target.ctx, offset + i, io).then((id) => {
          ids[i] = id;
        }),
    },
    ...CIBA_PHASES.map((phase) => ({
      label: phase.label,
      run: (i: number, io: Parameters<typeof cibaStart>[2]) => phase.run(target.ctx, ids[i] as StartedCiba, io),
    })),
  ];
}

function singleStep(run: PhaseRun["run"]) {
  return (i: number, io: Parameters<typeof cibaStart>[2]) => run(i, io);
}

async function countScenario(
  target: Target,
  scenario: Scenario,
  flows: number,
  cpuByLevel: { concurrency: number; cpuMsPerFlow: number }[],
): Promise<CountedOps> {
  const url = target.countersUrl as URL;
  await readCounters(url, true);
  const offset = flowIndex;
  flowIndex += flows;
  const flow = flowOf(target, scenario);
  const result = await runLoad({ flows, concurrency: 1, makeFlow: (i, io) => flow(target.ctx, offset + i, io) });
  if (result.failed > 0) log(`  counting ${target.id}/${scenario.id}: ${result.failed} failed (${result.firstError})`);
  // Let the alarms these flows scheduled run: the notification at once, a CIBA request's
  // clean-up at its (shortened) expiry.
  await sleep(scenario.id === "ciba" && !target.floor ? COUNT_CIBA_EXPIRY_S * 1000 + 1500 : 300);
  const raw = await readCounters(url);
  const ops = perFlow(raw, result.completed);
  if ((raw.doDeleteAllRowsUnknown ?? 0) > 0) {
    log(
      `  counting ${target.id}/${scenario.id}: the rows of ${raw.doDeleteAllRowsUnknown} deleteAll() calls could not be read`,
    );
  }
  const cpu = median(cpuByLevel.map((l) => l.cpuMsPerFlow));
  const counted: CountedOps = {
    target: target.id,
    scenario: scenario.id,
    flows: result.completed,
    perFlow: ops,
    doRequestsByBinding: Object.fromEntries(
      Object.entries(raw.doRequests).map(([k, v]) => [k, round(v / Math.max(1, result.completed), 3)]),
    ),
    doStatements: statementsPerFlow(raw.doStatements, result.completed),
    d1Statements: statementsPerFlow(raw.d1Statements, result.completed),
    d1RowsUnknown: raw.d1RowsUnknown,
    cost: costPerMillionFlows(ops, Number.isFinite(cpu) ? cpu : 0),
    costByLevel: cpuByLevel.map(({ concurrency, cpuMsPerFlow }) => ({
      concurrency,
      cpuMsPerFlow,
      usdPerMillionFlows: round(costPerMillionFlows(ops, cpuMsPerFlow).totalUsd, 4),
    })),
    monthly: [1e6, 10e6, 100e6].map((n) => {
      const month = monthlyCost(ops, Number.isFinite(cpu) ? cpu : 0, n);
      return { ...month, usd: round(month.usd, 2) };
    }),
  };
  // Per endpoint (a second pass with its own wait for the clean-up alarms): not in smoke runs.
  if (scenario.id === "ciba" && !target.floor && countPerEndpoint) {
    counted.perEndpoint = await countCibaPhases(target, flows);
  }
  return counted;
}

async function countCibaPhases(target: Target, flows: number): Promise<Record<string, OpsPerFlow>> {
  const url = target.countersUrl as URL;
  const ids: StartedCiba[] = [];
  const offset = flowIndex;
  flowIndex += flows;
  const out: Record<string, OpsPerFlow> = {};
  for (const phase of cibaPhaseRuns(target, offset, ids)) {
    if (phase.label === "token (tokens)") await sleep(CIBA_POLL_WAIT_MS);
    await readCounters(url, true);
    const result = await runLoad({ flows, concurrency: 1, makeFlow: singleStep(phase.run) });
    await sleep(300);
    out[phase.label] = perFlow(await readCounters(url), result.completed);
  }
  await readCounters(url, true);
  await sleep(COUNT_CIBA_EXPIRY_S * 1000 + 1500);
  out["expiry clean-up (alarm)"] = perFlow(await readCounters(url), flows);
  return out;
}

// ------------------------------------------------------------------ set-up of the targets

/** One signed-in browser per concurrent flow (see lib/sessions.ts); the floor gets one session row. */
async function signIn(target: Target, count: number): Promise<void> {
  if (!target.scenarios.includes("code")) return;
  if (target.floor) target.ctx.sessions = [await seedFloor(target.ctx.baseUrl, target.ctx.user.subject)];
  else if (target.id.startsWith("oidc-provider")) target.ctx.sessions = await signInPeer(target.ctx, count);
  else target.ctx.sessions = await signInEdge(target.ctx, count);
}

/** Drops (and reports as pending) the scenarios a target does not serve yet. */
async function probe(target: Target, pending: BenchResults["pending"]): Promise<void> {
  if (target.floor) return;
  for (const id of [...target.scenarios]) {
    const available = SCENARIOS[id].available;
    if (!available) continue;
    const client = new HttpClient(1);
    const ok = await available(target.ctx, client).catch(() => false);
    client.close();
    if (!ok) {
      target.scenarios = target.scenarios.filter((s) => s !== id);
      pending.push({ target: target.id, scenario: id, reason: "its endpoints are not served by this build yet" });
      log(`${target.id}: ${id} is not available: reported as pending`);
    }
  }
}

/** The baseline's own seed (its bench/lib/edge.ts: its migrations, its seed rows), into its own workerd. */
async function seedBaseline(baseline: BaselineBuild, mf: Miniflare, secrets: DevSecrets): Promise<void> {
  const module = (await import(pathToFileURL(join(baseline.root, "bench", "lib", "edge.ts")).href)) as {
    seedDatabase(mf: Miniflare, secrets: DevSecrets): Promise<void>;
  };
  await module.seedDatabase(mf, secrets);
  await seedBenchUsers(mf);
}

/** This checkout's migrations and seed, and the CIBA flows' users. */
async function seedEdge(mf: Miniflare, secrets: DevSecrets): Promise<void> {
  await seedDatabase(mf, secrets);
  await seedBenchUsers(mf);
}

async function startBaseline(
  baseline: BaselineBuild,
  script: string,
  secrets: DevSecrets,
  vars?: Record<string, string>,
): Promise<EdgeInstance> {
  const instance = await startEdge({ edgeScript: script, projectRoot: baseline.root, secrets, vars });
  await seedBaseline(baseline, instance.mf, secrets);
  return instance;
}

const PEERS: { id: TargetId; storage: PeerStorage }[] = [
  { id: "oidc-provider", storage: "memory" },
  { id: "oidc-provider-sqlite", storage: "sqlite" },
];

// ------------------------------------------------------------------ main

async function main(cleanup: (() => Promise<void>)[]): Promise<void> {
  const { values } = parseArgs({
    options: {
      smoke: { type: "boolean", default: false },
      baseline: { type: "string" },
      "peer-db-dir": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write("Usage: npm run bench [-- --smoke] [-- --baseline <git-rev>] [-- --peer-db-dir <dir>]\n");
    return;
  }
  assertSupportedNode();
  const plan = values.smoke ? SMOKE : FULL;
  countPerEndpoint = plan.mode === "full";
  const started = performance.now();
  const loadBefore = machineLoad();
  log(`${plan.mode} run on ${loadBefore.cores} cores; load average ${loadBefore.load1.toFixed(2)} (1 min)`);
  if (plan.mode === "full" && loadBefore.load1 > loadBefore.cores * 0.5) {
    log("the machine is busy: figures will be noisy; rerun when `uptime` shows a low load");
  }

  const notes: string[] = [];
  const resultsDir = plan.mode === "smoke" ? join(OUT_DIR, "smoke") : join(PROJECT_ROOT, "bench", "results");
  const reportPath = plan.mode === "smoke" ? join(resultsDir, "RESULTS.md") : join(PROJECT_ROOT, "bench", "RESULTS.md");
  mkdirSync(resultsDir, { recursive: true });

  log(`building bundles (wrangler deploy --dry-run)${values.baseline ? `, and those of ${values.baseline}` : ""}`);
  const [bundles, baseline] = await Promise.all([
    buildAll(),
    values.baseline ? buildBaseline(values.baseline) : Promise.resolve(undefined),
  ]);
  if (baseline) {
    cleanup.push(async () => baseline.remove());
    log(`baseline: ${baseline.commit.slice(0, 12)} ${baseline.subject}`);
  }
  const secrets = await generateDevSecrets();

  // Start-up: a fresh workerd with the deployable bundle until discovery answers 200; the floor
  // alone until /hello answers; the peer's process until its discovery answers.
  log("measuring start-up");
  const samples = { edge: [] as number[], floor: [] as number[], peer: [] as number[] };
  for (let i = 0; i < plan.startupSamples; i++) {
    const edge = await startEdge({ edgeScript: bundles.product.scriptPath, secrets });
    samples.edge.push(round(edge.startupMs));
    await edge.dispose();
    const floor = await startEdge({ floorScript: bundles.floor.scriptPath, secrets });
    samples.floor.push(round(floor.startupMs));
    await floor.dispose();
    const peer = await startPeer();
    samples.peer.push(round(peer.startupMs));
    await peer.stop();
  }
  const startup: Startup[] = [
    {
      target: "edge-op",
      what: "new Miniflare() → first 200 from discovery",
      samplesMs: samples.edge,
      medianMs: median(samples.edge),
    },
    {
      target: "floor",
      what: "new Miniflare() → first 200 from /hello",
      samplesMs: samples.floor,
      medianMs: median(samples.floor),
    },
    {
      target: "oidc-provider",
      what: "spawn node → first 200 from discovery",
      samplesMs: samples.peer,
      medianMs: median(samples.peer),
    },
  ];

  log("starting edge-op and the floor (one workerd), the baseline (its own workerd) and the peers (node)");
  const edge: EdgeInstance = await startEdge({
    edgeScript: bundles.timed.scriptPath,
    floorScript: bundles.floor.scriptPath,
    secrets,
  });
  cleanup.push(() => edge.dispose());
  await seedEdge(edge.mf, secrets);
  // The durable peer's database is a file on disk, as its users deploy it (the system's temporary
  // directory); --peer-db-dir puts it elsewhere, e.g. /dev/shm beside workerd's storage.
  const databaseParent = values["peer-db-dir"] ?? tmpdir();
  const peers: PeerInstance[] = [];
  for (const { storage } of PEERS) {
    const peer = await startPeer({ storage, databaseParent });
    cleanup.push(() => peer.stop());
    peers.push(peer);
  }
  const all: ScenarioId[] = [...SCENARIO_ORDER];
  const targets: Target[] = [
    { id: "edge-op", ctx: contextFor(edge.urls[EDGE_WORKER] as URL), pids: edge.pids, scenarios: [...all] },
  ];
  let baselineInstance: EdgeInstance | undefined;
  if (baseline) {
    baselineInstance = await startBaseline(baseline, baseline.timed.scriptPath, secrets);
    const instance = baselineInstance;
    cleanup.push(() => instance.dispose());
    targets.push({
      id: "edge-op-baseline",
      ctx: contextFor(instance.urls[EDGE_WORKER] as URL),
      pids: instance.pids,
      scenarios: [...all],
    });
  }
  PEERS.forEach(({ id }, i) => {
    const peer = peers[i] as PeerInstance;
    targets.push({ id, ctx: contextFor(peer.url), pids: [peer.pid], scenarios: [...all] });
  });
  targets.push({
    id: "floor",
    ctx: contextFor(edge.urls[FLOOR_WORKER] as URL),
    pids: edge.pids,
    scenarios: [...all],
    floor: true,
  });
  const peerDatabase = peers[1]?.database;
  if (peerDatabase) log(`oidc-provider-sqlite database: ${peerDatabase} (${filesystemOf(peerDatabase)})`);

  const pending: BenchResults["pending"] = [];
  const sessions = Math.max(...plan.levels);
  log(`signing in ${sessions} browsers per target (code flow)`);
  for (const target of targets) {
    await probe(target, pending);
    await signIn(target, sessions);
  }

  log("warming up");
  for (const target of targets) {
    for (const id of target.scenarios) await measure(target, SCENARIOS[id], 8, plan.warmup);
  }

  // Each measurement is taken `repeats` times, the targets in alternating order; the run with
  // the best throughput is reported (interference from other processes only ever slows a run
  // down), and every run is kept in the JSON.
  const measurements: Measurement[] = [];
  for (const id of SCENARIO_ORDER) {
    const scenario = SCENARIOS[id];
    for (const level of plan.levels) {
      const serving = targets.filter((t) => t.scenarios.includes(id));
      const runs = new Map<TargetId, Measurement[]>();
      for (let rep = 0; rep < plan.repeats; rep++) {
        for (const target of rep % 2 === 0 ? serving : [...serving].reverse()) {
          if (plan.mode === "full") await sleep(200);
          const m = await measure(target, scenario, level, plan.flows(id, level));
          runs.set(target.id, [...(runs.get(target.id) ?? []), m]);
          const errors = m.failed > 0 ? `, ${m.failed} FAILED (${m.firstError})` : "";
          log(
            `${id.padEnd(18)} c=${String(level).padEnd(3)} ${target.id.padEnd(20)} ${String(m.flowsPerSecond).padStart(8)} ${scenario.unit}s/s  cpu ${m.cpuMsPerFlow} ms/${scenario.unit}${errors}`,
          );
        }
      }
      for (const target of serving) {
        const taken = runs.get(target.id) ?? [];
        const best = [...taken].sort((a, b) => b.flowsPerSecond - a.flowsPerSecond)[0];
        if (!best) continue;
        measurements.push({
          ...best,
          failed: taken.reduce((n, m) => n + m.failed, 0),
          errors: Object.assign({}, ...taken.map((m) => m.errors)),
          runs: taken.map((m) => ({
            flowsPerSecond: m.flowsPerSecond,
            cpuMsPerFlow: m.cpuMsPerFlow,
            failed: m.failed,
          })),
        });
      }
    }
  }

  log("CIBA in phases (CPU per endpoint)");
  const phases: PhaseMeasurement[] = [];
  for (const target of targets.filter((t) => t.scenarios.includes("ciba") && !t.floor)) {
    phases.push(...(await cibaPhases(target, plan.phaseFlows, plan.phaseConcurrency)));
  }
  for (const peer of peers) await peer.stop();
  await baselineInstance?.dispose();
  await edge.dispose();
  cleanup.length = 0;
  if (baseline) cleanup.push(async () => baseline.remove());

  log("profiling edge-op's isolate during CIBA flows (V8 sampling profiler)");
  const inspectorPort = await freePort();
  const profiled = await startEdge({ edgeScript: bundles.timed.scriptPath, secrets, inspectorPort });
  cleanup.push(() => profiled.dispose());
  await seedEdge(profiled.mf, secrets);
  const profiledTarget: Target = {
    id: "edge-op",
    ctx: contextFor(profiled.urls[EDGE_WORKER] as URL),
    pids: profiled.pids,
    scenarios: ["ciba"],
  };
  await measure(profiledTarget, SCENARIOS.ciba, 8, plan.warmup);
  const inspector = await Inspector.connect(inspectorPort, EDGE_WORKER);
  await inspector.send("Profiler.enable");
  await inspector.send("Profiler.setSamplingInterval", { interval: 250 });
  await inspector.send("Profiler.start");
  const profiledRun = await measure(profiledTarget, SCENARIOS.ciba, plan.phaseConcurrency, plan.phaseFlows);
  const { profile } = await inspector.send<{ profile: CpuProfile }>("Profiler.stop");
  inspector.close();
  const profileSummary = {
    ...summarizeProfile(profile, bundles.timed.scriptPath, profiledRun.completed),
    processCpuMsPerFlow: profiledRun.cpuMsPerFlow,
  };
  await profiled.dispose();
  cleanup.pop();

  log("counting platform operations (instrumented builds)");
  const countingVars = { CIBA_EXPIRED_GRACE: "0" };
  const counting = await startEdge({
    edgeScript: bundles.counting.scriptPath,
    floorScript: bundles.floorCounting.scriptPath,
    secrets,
    vars: countingVars,
  });
  cleanup.push(() => counting.dispose());
  await seedEdge(counting.mf, secrets);
  const countingTargets: Target[] = [
    {
      id: "edge-op",
      ctx: { ...contextFor(counting.urls[EDGE_WORKER] as URL), cibaRequestedExpiry: COUNT_CIBA_EXPIRY_S },
      pids: counting.pids,
      scenarios: targets[0]?.scenarios ?? [],
      countersUrl: counting.urls[EDGE_WORKER],
    },
    {
      id: "floor",
      ctx: contextFor(counting.urls[FLOOR_WORKER] as URL),
      pids: counting.pids,
      scenarios: [...all],
      floor: true,
      countersUrl: counting.urls[FLOOR_WORKER],
    },
  ];
  let baselineCounting: EdgeInstance | undefined;
  if (baseline?.counting) {
    baselineCounting = await startBaseline(baseline, baseline.counting.scriptPath, secrets, countingVars);
    const instance = baselineCounting;
    cleanup.push(() => instance.dispose());
    countingTargets.splice(1, 0, {
      id: "edge-op-baseline",
      ctx: { ...contextFor(instance.urls[EDGE_WORKER] as URL), cibaRequestedExpiry: COUNT_CIBA_EXPIRY_S },
      pids: instance.pids,
      scenarios: targets.find((t) => t.id === "edge-op-baseline")?.scenarios ?? [],
      countersUrl: instance.urls[EDGE_WORKER],
    });
  } else if (baseline) {
    notes.push(
      `The baseline ${baseline.revision} has no counting build (bench/worker/counting-entry.ts): not counted.`,
    );
  }
  const counted: CountedOps[] = [];
  for (const target of countingTargets) {
    await signIn(target, 1);
    for (const id of target.scenarios) {
      // Warm-up (the first call into an object patches storage), with the normal CIBA lifetime so
      // that these requests' clean-up alarms fall outside the counting window.
      await measure({ ...target, ctx: { ...target.ctx, cibaRequestedExpiry: undefined } }, SCENARIOS[id], 1, 3);
      const cpuByLevel = measurements
        .filter((m) => m.target === target.id && m.scenario === id)
        .map((m) => ({ concurrency: m.concurrency, cpuMsPerFlow: m.cpuMsPerFlow }));
      counted.push(await countScenario(target, SCENARIOS[id], plan.countFlows, cpuByLevel));
    }
  }
  notes.push(
    `Counting pass: CIBA requests were sent with requested_expiry=${COUNT_CIBA_EXPIRY_S} and CIBA_EXPIRED_GRACE=0, so that each request's clean-up alarm (normally ${"`CIBA_EXPIRED_GRACE`"} after expiry) ran inside the window and is counted.`,
  );
  if (peerDatabase) {
    notes.push(
      `oidc-provider-sqlite kept its database in ${peerDatabase} (${filesystemOf(peerDatabase)}; WAL, synchronous=FULL: every commit is flushed to the device before it returns); workerd kept edge-op's storage on ${counting.storage.startsWith("/dev/shm") ? "tmpfs" : counting.storage}.`,
    );
  }

  const failures = [
    ...measurements.filter((m) => m.failed > 0),
    ...phases.filter((p) => p.failed > 0),
    ...counted.filter((c) => c.flows < plan.countFlows),
  ];
  const loadAfter = machineLoad();
  const results: BenchResults = {
    generatedAt: new Date().toISOString(),
    mode: plan.mode,
    durationS: round((performance.now() - started) / 1000, 1),
    machine: {
      cores: loadBefore.cores,
      loadBefore: { load1: loadBefore.load1, load5: loadBefore.load5 },
      loadAfter: { load1: loadAfter.load1, load5: loadAfter.load5 },
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      storage: counting.storage.startsWith("/dev/shm") ? "tmpfs (/dev/shm)" : counting.storage,
    },
    versions: {
      workerd: packageVersion("workerd"),
      miniflare: packageVersion("miniflare"),
      wrangler: packageVersion("wrangler"),
      hono: packageVersion("hono"),
      jose: packageVersion("jose"),
      "oidc-provider": peerVersion(),
    },
    levels: plan.levels,
    baseline: baseline
      ? { revision: baseline.revision, commit: baseline.commit, subject: baseline.subject }
      : undefined,
    peerDatabase,
    floors: SCENARIO_ORDER.map((id) => ({ scenario: id, does: SCENARIOS[id].floorDoes })),
    repeats: plan.repeats,
    bundles: [...Object.values(bundles), ...(baseline ? [baseline.timed] : [])].map(({ name, uploadKiB, gzipKiB }) => ({
      name,
      uploadKiB,
      gzipKiB,
    })),
    startup,
    scenarios: SCENARIO_ORDER.map((id) => ({
      id,
      title: SCENARIOS[id].title,
      unit: SCENARIOS[id].unit,
      endpoints: SCENARIOS[id].endpoints,
      targets: targets.filter((t) => t.scenarios.includes(id)).map((t) => t.id),
    })),
    pending,
    measurements,
    phases,
    profile: profileSummary,
    counted,
    notes,
  };
  await baselineCounting?.dispose();
  await counting.dispose();
  baseline?.remove();
  cleanup.length = 0;

  writeFileSync(join(resultsDir, "latest.json"), `${JSON.stringify(results, null, 2)}\n`);
  const { markdown, svg } = renderReport(results, relative(join(reportPath, ".."), join(resultsDir, "chart.svg")));
  writeFileSync(join(resultsDir, "chart.svg"), svg);
  writeFileSync(reportPath, markdown);
  if (plan.mode === "full") formatMarkdown(reportPath);
  log(`wrote ${relative(PROJECT_ROOT, reportPath)}, ${relative(PROJECT_ROOT, join(resultsDir, "latest.json"))}`);
  log(`done in ${results.durationS} s`);
  if (failures.length > 0) {
    log(`${failures.length} measurement(s) had failed flows: see the report`);
    process.exitCode = 1;
  }
}

const cleanup: (() => Promise<void>)[] = [];
// Interrupted (Ctrl-C, a CI timeout): stop workerd and the peer and remove the tmpfs storage.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping`);
    const stopped = Promise.all(cleanup.map((step) => step().catch(() => {})));
    void Promise.race([stopped, sleep(5_000)]).finally(() => process.exit(130));
  });
}
try {
  await main(cleanup);
} catch (error) {
  console.error("[bench] failed:", error);
  process.exitCode = 1;
} finally {
  for (const step of cleanup.reverse()) await step().catch(() => {});
}
