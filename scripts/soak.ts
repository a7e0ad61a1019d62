/**
 * `npm run soak`: edge-op under a steady mix of real flows and hostile requests for a bounded time
 * (issue 19), loopback only, then checks that nothing was lost, doubled or leaked.
 *
 *   npm run soak -- [--duration 600] [--rate 4] [--hostile 0.1] [--out bench/SOAK.md] [--script FILE]
 *
 * The Worker is bundled as `wrangler deploy` would and run in workerd through the Miniflare API
 * (scripts/lib/local-edge.ts); the user notification webhook and the ping and push endpoints are a
 * loopback receiver in this process. Every 1/rate seconds a flow starts (scripts/lib/soak-flows.ts:
 * CIBA poll, ping and push, approved or denied on the page or through the authenticator API, an
 * expiring request, PAR + code + userinfo + refresh, client_credentials), for users who signed in
 * once; beside them one lane sends hostile requests (scripts/lib/hostile.ts) so that they are
 * `--hostile` of all requests. At the end it checks:
 *   - no answer was a 5xx (flows, hostile requests, the checks themselves);
 *   - every flow started either completed once or met the error it was meant to (access_denied,
 *     expired_token); none failed otherwise or was left unfinished;
 *   - memory, sampled every 10 s, did not grow from the 2nd minute to the last: the Worker's JS
 *     heap within a noise bound, workerd's RSS by no more than the runtime itself keeps for the
 *     Durable Objects made meanwhile (scripts/lib/soak-memory.ts says why both; judged for runs
 *     of 3 minutes or more);
 *   - every one-time handle spent (auth_req_id, request_uri, code, rotated refresh token) is
 *     refused when presented again, and no notice, ping or push was delivered twice.
 * The summary goes to bench/SOAK.md (and, for that file, its figures to docs/reliability.md);
 * exit code 1 if any check failed.
 */

import { mkdirSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { parseArgs } from "node:util";
import fc from "fast-check";
import { machineLoad } from "../bench/lib/cpu.ts";
import { freePort } from "../bench/lib/profile.ts";
import { type Answer, accessTokenFor, Browser, OAuthClient } from "./lib/edge-client.ts";
import { flowClients, localVars, REDIRECT_URI } from "./lib/flow-clients.ts";
import { type HostileOptions, type HostileRequest, hostileGenerators } from "./lib/hostile.ts";
import { HostileLane, type Problem } from "./lib/hostile-lane.ts";
import { buildWorker, LocalEdge } from "./lib/local-edge.ts";
import { LoopbackReceiver } from "./lib/loopback-receiver.ts";
import { replaceReportBlock, writeReport } from "./lib/report-block.ts";
import { checkoutRevision } from "./lib/revision.ts";
import {
  FLOW_WEIGHTS,
  type FlowName,
  type HandleCheck,
  OBJECTS_PER_FLOW,
  presentSpentHandlesAgain,
  runFlow,
  type SoakContext,
  type SoakUser,
} from "./lib/soak-flows.ts";
import { type MemoryCheck, type MemorySample, MemoryWatch } from "./lib/soak-memory.ts";
import { assertSupportedNode, PROJECT_ROOT } from "./lib/wrangler.ts";

const USAGE = `Usage: npm run soak -- [--duration S] [--rate N] [--hostile F] [--out FILE] [--script FILE]

  --duration S   how long flows are started, in seconds (or 30s, 10m; default 10m)
  --rate N       flows started per second (default 4)
  --hostile F    share of all requests that are hostile, 0–0.9 (default 0.1)
  --out FILE     where the summary goes (default bench/SOAK.md)
  --script FILE  run this bundle (inside the project) instead of building the checkout's
`;

const ISSUER = "http://localhost:8787";
const USERS = 16;
const MEMORY_SAMPLE_MS = 10_000;
/** Flows still running when the time is up get this long to finish. */
const DRAIN_MS = 60_000;
/** More flows than this in flight means the Worker is not keeping up: further starts are skipped (and reported). */
const MAX_IN_FLIGHT = 200;

interface Args {
  durationS: number;
  rate: number;
  hostile: number;
  out: string;
  script?: string;
}

function seconds(value: string): number {
  const match = /^(\d+(?:\.\d+)?)(s|m)?$/.exec(value.trim());
  if (!match) throw new Error(`--duration: "${value}" is not a number of seconds (30, 30s, 10m)`);
  return Number(match[1]) * (match[2] === "m" ? 60 : 1);
}

function parse(): Args | undefined {
  const { values } = parseArgs({
    options: {
      duration: { type: "string", default: "600" },
      rate: { type: "string", default: "4" },
      hostile: { type: "string", default: "0.1" },
      out: { type: "string", default: join("bench", "SOAK.md") },
      script: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
    strict: true,
  });
  if (values.help) return undefined;
  const args = {
    durationS: seconds(values.duration),
    rate: Number(values.rate),
    hostile: Number(values.hostile),
    out: values.out,
    script: values.script,
  };
  if (!(args.durationS >= 5 && args.durationS <= 3 * 3600)) throw new Error("--duration: 5 s to 3 h");
  if (!(args.rate > 0 && args.rate <= 100)) throw new Error("--rate: more than 0, at most 100 flows per second");
  if (!(args.hostile >= 0 && args.hostile <= 0.9)) throw new Error("--hostile: 0 to 0.9");
  return args;
}

/** The flows in the proportions of FLOW_WEIGHTS, interleaved, repeating. */
function flowSchedule(): FlowName[] {
  const names = Object.keys(FLOW_WEIGHTS) as FlowName[];
  const total = names.reduce((sum, name) => sum + FLOW_WEIGHTS[name], 0);
  const schedule: FlowName[] = [];
  const credit = new Map(names.map((name) => [name, 0]));
  for (let i = 0; i < total; i++) {
    for (const name of names) credit.set(name, (credit.get(name) ?? 0) + FLOW_WEIGHTS[name]);
    const next = names.reduce((best, name) => ((credit.get(name) ?? 0) > (credit.get(best) ?? 0) ? name : best));
    credit.set(next, (credit.get(next) ?? 0) - total);
    schedule.push(next);
  }
  return schedule;
}

interface FlowStats {
  started: number;
  completed: number;
  expected: Record<string, number>;
  unexpected: number;
  durationsMs: number[];
}

interface Tally {
  requests: number;
  hostile: number;
  byClass: Record<string, number>;
  serverErrors: string[];
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/** Deliveries made twice: a notice per request, a ping or push per auth_req_id, answered 2xx more than once. */
function duplicateDeliveries(receiver: LoopbackReceiver): string[] {
  const duplicates: string[] = [];
  const count = (path: string, key: string) => {
    const seen = new Map<string, number>();
    for (const r of receiver.received(path)) {
      if (r.status >= 300) continue;
      const id = String((JSON.parse(r.body) as Record<string, unknown>)[key]);
      seen.set(id, (seen.get(id) ?? 0) + 1);
    }
    for (const [id, n] of seen) if (n > 1) duplicates.push(`${path}: ${key} ${id.slice(0, 12)}… delivered ${n} times`);
  };
  count("/notify", "internal_id");
  count("/ping", "auth_req_id");
  count("/push", "auth_req_id");
  return duplicates;
}

async function main(): Promise<number> {
  let args: Args | undefined;
  try {
    args = parse();
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (!args) {
    process.stdout.write(USAGE);
    return 0;
  }
  assertSupportedNode();
  const t0 = Date.now();
  const log = (line: string) => console.log(`[soak] ${((Date.now() - t0) / 1000).toFixed(1)} s: ${line}`);
  const script = args.script ?? (await buildWorker(join(PROJECT_ROOT, "test-results", "soak", "worker")));
  const floorScript = await buildWorker(
    join(PROJECT_ROOT, "test-results", "soak", "floor"),
    "bench/floor/wrangler.toml",
  );
  const receiver = await LoopbackReceiver.start();
  const clients = flowClients(receiver.origin);
  const setupStarted = Date.now();
  const edge = await LocalEdge.create({
    script,
    vars: localVars(receiver.origin),
    clients: Object.values(clients),
    benchUsers: true,
    floorScript,
    inspectorPort: await freePort(),
  });
  log(`local runtime started and seeded in ${((Date.now() - setupStarted) / 1000).toFixed(1)} s`);
  try {
    return await soak(args, edge, receiver, clients, log);
  } finally {
    await edge.dispose();
    await receiver.close();
  }
}

async function soak(
  args: Args,
  edge: LocalEdge,
  receiver: LoopbackReceiver,
  clients: ReturnType<typeof flowClients>,
  log: (line: string) => void,
): Promise<number> {
  const base = () => edge.url;
  const tally: Tally = { requests: 0, hostile: 0, byClass: {}, serverErrors: [] };
  const observe = (hostile: boolean) => (answer: Answer, method: string, path: string) => {
    tally.requests += 1;
    if (hostile) tally.hostile += 1;
    const cls = `${Math.floor(answer.status / 100)}xx`;
    tally.byClass[cls] = (tally.byClass[cls] ?? 0) + 1;
    if (answer.status >= 500 && tally.serverErrors.length < 50) {
      tally.serverErrors.push(`${answer.status} ${method} ${path.slice(0, 120)}: ${answer.body.slice(0, 200)}`);
    }
  };
  const client = (c: { client_id: string; client_secret: string }, hostile = false) =>
    new OAuthClient(base, c.client_id, c.client_secret, observe(hostile));

  // The users, each signed in once; their authenticator tokens are fetched when first needed.
  const authenticator = client(clients.authenticator);
  const users: SoakUser[] = [];
  for (let i = 0; i < USERS; i++) {
    const browser = new Browser(base, observe(false));
    await browser.signIn(`bench-user-${i}`, "bench-user-password");
    let token: Promise<string> | undefined;
    const renew = () => {
      token = accessTokenFor(browser, authenticator, REDIRECT_URI, "openid ciba:approve");
      return token;
    };
    users.push({ username: `bench-user-${i}`, browser, bearer: () => token ?? renew(), renewBearer: renew });
  }
  const ctx: SoakContext = {
    base,
    receiver,
    clients: {
      poll: client(clients.poll),
      ping: client(clients.ping),
      push: client(clients.push),
      web: client(clients.web),
    },
    redirectUri: REDIRECT_URI,
    user: (n) => users[n % users.length] as SoakUser,
    spent: { authReqIds: [], codes: [], refreshTokens: [], requestUris: [] },
    intervalMs: (clients.poll.ciba_polling_interval ?? 5) * 1000 + 50,
  };

  // The hostile lane: its own user and client, so it never touches the flows' requests or caps.
  const hostileOptions: HostileOptions = {
    client: { id: clients.hostile.client_id, secret: clients.hostile.client_secret },
    username: `bench-user-${USERS}`,
    issuer: ISSUER,
    webClient: { id: clients.web.client_id, redirectUri: REDIRECT_URI },
  };
  const lane = new HostileLane({
    base,
    receiver,
    kiosk: client(clients.hostile, true),
    authenticator: client(clients.authenticator, true),
    redirectUri: REDIRECT_URI,
    username: hostileOptions.username,
    password: "bench-user-password",
    observe: observe(true),
  });
  await lane.prepare();
  const hostileRequests = hostileGenerators(hostileOptions).anyRequest;
  const hostileProblems: Problem[] = [];
  log(`ready: ${USERS} users signed in; ${args.rate} flows/s for ${args.durationS} s, ${args.hostile * 100} % hostile`);

  const stats = new Map<FlowName, FlowStats>();
  const failures: string[] = [];
  const inFlight = new Set<Promise<void>>();
  const schedule = flowSchedule();
  const watch = await MemoryWatch.start(edge);
  log(`the runtime keeps ${watch.floorKiBPerObject.toFixed(0)} KiB per Durable Object (floor Worker, 200 objects)`);
  let objects = 0;
  const sampleMemory = () => watch.sample(elapsedS(), objects + lane.renewals.requests);
  const startedAt = Date.now();
  const elapsedS = () => (Date.now() - startedAt) / 1000;
  let skipped = 0;
  let running = true;

  await sampleMemory();
  const sampler = setInterval(() => void sampleMemory(), MEMORY_SAMPLE_MS);

  const hostileLoop = (async () => {
    let seed = 1;
    while (running) {
      const flowRequests = tally.requests - tally.hostile;
      if (tally.hostile < (args.hostile / (1 - args.hostile)) * flowRequests) {
        const [request] = fc.sample(hostileRequests, { seed: seed++, numRuns: 1 }) as HostileRequest[];
        if (!request) continue;
        const outcome = await lane.send(request, hostileOptions).catch((error: unknown) => ({
          status: 0,
          problem: { problem: `no answer: ${String(error)}`, request, status: 0, body: "" },
        }));
        if (outcome.problem && hostileProblems.length < 50) hostileProblems.push(outcome.problem);
      } else {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  })();

  let n = 0;
  const progressEvery = Math.max(10, Math.round(args.durationS / 10));
  let nextProgress = progressEvery;
  while (elapsedS() < args.durationS) {
    const name = schedule[n % schedule.length] as FlowName;
    const flowNumber = n++;
    if (inFlight.size >= MAX_IN_FLIGHT) {
      skipped += 1;
    } else {
      const s = stats.get(name) ?? { started: 0, completed: 0, expected: {}, unexpected: 0, durationsMs: [] };
      stats.set(name, s);
      s.started += 1;
      objects += OBJECTS_PER_FLOW[name];
      const t0 = Date.now();
      const flow = runFlow(name, ctx, flowNumber).then(
        (end) => {
          s.durationsMs.push(Date.now() - t0);
          if (end.completed) s.completed += 1;
          else s.expected[end.expectedError] = (s.expected[end.expectedError] ?? 0) + 1;
        },
        (error: unknown) => {
          s.unexpected += 1;
          if (failures.length < 30)
            failures.push(`${name} #${flowNumber}: ${error instanceof Error ? error.message : String(error)}`);
        },
      );
      const tracked = flow.finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
    }
    if (elapsedS() >= nextProgress) {
      log(
        `${n} flows started, ${tally.requests} requests (${tally.hostile} hostile), ${tally.serverErrors.length} 5xx, RSS ${(edge.rssKiB() / 1024).toFixed(0)} MiB`,
      );
      nextProgress += progressEvery;
    }
    // Steady: the next start is due at n / rate seconds, however long this one took to launch.
    const due = startedAt + (n * 1000) / args.rate;
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, due - Date.now())));
  }
  const flowSeconds = elapsedS();
  clearInterval(sampler);
  await sampleMemory();
  watch.close();
  log(`time is up: waiting for ${inFlight.size} flows in flight`);
  let drainTimer: NodeJS.Timeout | undefined;
  const drained = await Promise.race([
    Promise.all(inFlight).then(() => true),
    new Promise<boolean>((resolve) => {
      drainTimer = setTimeout(() => resolve(false), DRAIN_MS);
    }),
  ]);
  clearTimeout(drainTimer);
  running = false;
  await hostileLoop;
  const unfinished = drained ? 0 : inFlight.size;

  log("presenting every spent one-time handle again");
  const handles = await presentSpentHandlesAgain(ctx);
  const duplicates = duplicateDeliveries(receiver);
  const memory = watch.check(args.durationS);

  const unexpected = [...stats.values()].reduce((sum, s) => sum + s.unexpected, 0);
  const handlesOk = handles.every((h) => h.refused === h.presented);
  const checks = [
    {
      name: "no 5xx",
      ok: tally.serverErrors.length === 0,
      detail: `${tally.serverErrors.length} of ${tally.requests.toLocaleString("en")} answers`,
    },
    {
      name: "every flow completed once or met its expected error",
      ok: unexpected === 0 && unfinished === 0,
      detail: `${unexpected} failed otherwise, ${unfinished} unfinished`,
    },
    {
      name: "hostile requests answered properly",
      ok: hostileProblems.length === 0,
      detail: `${hostileProblems.length} problems`,
    },
    {
      name: "memory flat",
      ok: memory.flat,
      detail: memory.judged ? `${memory.heap}; ${memory.rss}` : memory.heap,
    },
    {
      name: "every spent one-time handle refused when presented again",
      ok: handlesOk,
      detail: handles.map((h) => `${h.kind} ${h.refused}/${h.presented}`).join(", "),
    },
    { name: "nothing delivered twice", ok: duplicates.length === 0, detail: `${duplicates.length} duplicates` },
  ];
  const ok = checks.every((c) => c.ok);
  const report = markdown({
    args,
    stats,
    tally,
    checks,
    handles,
    samples: watch.samples,
    memory,
    skipped,
    flowSeconds,
    ok,
  });
  const details = [
    ...tally.serverErrors,
    ...failures,
    ...hostileProblems.map((p) => `${p.problem}: ${p.request.method} ${p.request.path}`),
    ...duplicates,
    ...handles.flatMap((h) => h.accepted.map((a) => `${h.kind} accepted again: ${a}`)),
  ];
  const full =
    details.length > 0 ? `${report}\n\n## What failed\n\n${details.map((d) => `- ${d}`).join("\n")}\n` : report;
  const out = join(PROJECT_ROOT, args.out);
  mkdirSync(dirname(out), { recursive: true });
  writeReport(out, full);
  log(`summary written to ${relative(PROJECT_ROOT, out)}`);
  if (relative(PROJECT_ROOT, out) === join("bench", "SOAK.md")) {
    replaceReportBlock(
      join(PROJECT_ROOT, "docs", "reliability.md"),
      "soak",
      soakFigures(args, tally, checks, flowSeconds),
    );
    log("figures written to docs/reliability.md");
  }
  console.log(`\n${full}`);
  return ok ? 0 : 1;
}

interface ReportInput {
  args: Args;
  stats: Map<FlowName, FlowStats>;
  tally: Tally;
  checks: { name: string; ok: boolean; detail: string }[];
  handles: HandleCheck[];
  samples: MemorySample[];
  memory: MemoryCheck;
  skipped: number;
  flowSeconds: number;
  ok: boolean;
}

function command(args: Args): string {
  return `npm run soak -- --duration ${args.durationS} --rate ${args.rate} --hostile ${args.hostile}`;
}

function soakFigures(args: Args, tally: Tally, checks: ReportInput["checks"], flowSeconds: number): string {
  return [
    `Latest soak: ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, at ${checkoutRevision()}, \`${command(args)}\`, ${flowSeconds.toFixed(0)} s, ${tally.requests.toLocaleString("en")} requests (${tally.hostile.toLocaleString("en")} hostile). Full summary: [bench/SOAK.md](../bench/SOAK.md).`,
    "",
    ...checks.map((c) => `- ${c.ok ? "✔" : "✘"} ${c.name}: ${c.detail}`),
  ].join("\n");
}

function markdown(r: ReportInput): string {
  const load = machineLoad();
  const n = (v: number) => v.toLocaleString("en");
  const flowRows = (Object.keys(FLOW_WEIGHTS) as FlowName[]).map((name) => {
    const s = r.stats.get(name) ?? { started: 0, completed: 0, expected: {}, unexpected: 0, durationsMs: [] };
    const expected =
      Object.entries(s.expected)
        .map(([error, count]) => `${n(count)} ${error}`)
        .join(", ") || "–";
    return `| ${name} | ${n(s.started)} | ${n(s.completed)} | ${expected} | ${n(s.unexpected)} | ${percentile(s.durationsMs, 50)} | ${percentile(s.durationsMs, 95)} |`;
  });
  const classes = Object.entries(r.tally.byClass)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([cls, count]) => `${cls} ${n(count)}`)
    .join(", ");
  const memoryRows = r.samples.map(
    (m) =>
      `| ${m.t.toFixed(0)} | ${(m.rssKiB / 1024).toFixed(1)} | ${m.heapKiB === undefined ? "–" : (m.heapKiB / 1024).toFixed(1)} | ${n(m.objects)} |`,
  );
  return [
    "# Soak",
    "",
    `Written by \`npm run soak\` (scripts/soak.ts) on ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC, at ${checkoutRevision()}: \`${command(r.args)}\`. edge-op's deployable bundle in workerd through the Miniflare API on loopback, on a machine with ${load.cores} cores (load average ${load.load1.toFixed(1)} / ${load.load5.toFixed(1)} at the end; other work shares them). Local figures, not production ones: the point is what must be zero.`,
    "",
    `**${r.ok ? "PASS" : "FAIL"}**`,
    "",
    "| Check | Result | Detail |",
    "| --- | --- | --- |",
    ...r.checks.map((c) => `| ${c.name} | ${c.ok ? "pass" : "**FAIL**"} | ${c.detail} |`),
    "",
    `## Flows (${r.flowSeconds.toFixed(0)} s of starts at ${r.args.rate}/s${r.skipped ? `; ${n(r.skipped)} starts skipped, ${MAX_IN_FLIGHT} were in flight` : ""})`,
    "",
    "| Flow | Started | Completed | Expected error | Failed otherwise | p50 ms | p95 ms |",
    "| --- | ---: | ---: | --- | ---: | ---: | ---: |",
    ...flowRows,
    "",
    `Requests: ${n(r.tally.requests)} answered (${n(r.tally.hostile)} hostile, ${((100 * r.tally.hostile) / Math.max(1, r.tally.requests)).toFixed(1)} %); by status class: ${classes}.`,
    "",
    "## One-time handles presented again at the end",
    "",
    "| Handle | Spent | Refused again |",
    "| --- | ---: | ---: |",
    ...r.handles.map((h) => `| ${h.kind} | ${n(h.presented)} | ${n(h.refused)} |`),
    "",
    "## Memory",
    "",
    "Why two figures: scripts/lib/soak-memory.ts (workerd keeps native memory for every Durable Object it has run, so its RSS grows with the objects the flows create; edge-op's own allocations are in the JS heap).",
    "",
    `- ${r.memory.heap}`,
    `- ${r.memory.rss}`,
    "",
    "| s | workerd RSS MiB | JS heap MiB | Durable Objects made |",
    "| ---: | ---: | ---: | ---: |",
    ...memoryRows,
  ].join("\n");
}

process.exitCode = await main();
