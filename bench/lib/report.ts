/**
 * RESULTS.md and its chart, rendered from the results JSON alone (so the report can be
 * regenerated from bench/results/latest.json without rerunning).
 */
import { PRICE_SOURCES, PRICES, PRICES_READ_ON } from "./prices";
import type { BenchResults, CountedOps, Measurement, TargetId } from "./results";
import type { ScenarioId } from "./scenarios";
import { median, round } from "./stats";
import { type BarChart, renderCharts } from "./svg";

const COLORS: Record<TargetId | "hello", string> = {
  "edge-op": "#f38020",
  "edge-op-no-cache": "#f9c08a",
  "oidc-provider": "#4a7ab8",
  floor: "#7a7a7a",
  hello: "#bdbdbd",
};

function fmt(value: number | undefined, digits = 2): string {
  if (value === undefined || !Number.isFinite(value)) return "–";
  if (Math.abs(value) >= 1000) return Math.round(value).toLocaleString("en-US");
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(digits);
}

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return "–";
  return `${fmt(a / b)}×`;
}

function usd(value: number): string {
  if (value === 0) return "$0";
  if (value < 0.01) return `$${value.toFixed(4)}`;
  return `$${value.toFixed(2)}`;
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

class View {
  constructor(readonly r: BenchResults) {}

  get(target: TargetId, scenario: ScenarioId, level: number): Measurement | undefined {
    return this.r.measurements.find((m) => m.target === target && m.scenario === scenario && m.concurrency === level);
  }

  all(target: TargetId, scenario: ScenarioId): Measurement[] {
    return this.r.measurements.filter((m) => m.target === target && m.scenario === scenario);
  }

  /** Median over the concurrency levels: CPU per flow hardly depends on the level. */
  cpu(target: TargetId, scenario: ScenarioId): number | undefined {
    const values = this.all(target, scenario).map((m) => m.cpuMsPerFlow);
    return values.length ? median(values) : undefined;
  }

  /** Best throughput over the levels (flows or requests per second). */
  peak(target: TargetId, scenario: ScenarioId, per: "flows" | "requests" = "flows"): number | undefined {
    const values = this.all(target, scenario).map((m) => (per === "flows" ? m.flowsPerSecond : m.requestsPerSecond));
    return values.length ? Math.max(...values) : undefined;
  }

  counted(target: TargetId, scenario: ScenarioId): CountedOps | undefined {
    return this.r.counted.find((c) => c.target === target && c.scenario === scenario);
  }

  get top(): number {
    return Math.max(...this.r.levels);
  }
}

function headline(v: View): string {
  const rows: string[][] = [];
  const perFlow = 4;
  const floorCpu = v.cpu("floor", "floor");
  const floorPeak = v.peak("floor", "floor");
  const cibaCpu = v.cpu("edge-op", "ciba");
  const cibaPeak = v.peak("edge-op", "ciba");
  const peerCibaCpu = v.cpu("oidc-provider", "ciba");
  const peerCibaPeak = v.peak("oidc-provider", "ciba");
  const floorFlowCpu = floorCpu === undefined ? undefined : floorCpu * perFlow;
  const floorFlowPeak = floorPeak === undefined ? undefined : floorPeak / perFlow;
  rows.push([
    "CIBA poll flow: flows/s (best level)",
    fmt(cibaPeak),
    `${fmt(floorFlowPeak)} (4 floor requests)`,
    fmt(peerCibaPeak),
    ratio(cibaPeak, floorFlowPeak),
    ratio(cibaPeak, peerCibaPeak),
  ]);
  rows.push([
    "CIBA poll flow: server CPU ms/flow",
    fmt(cibaCpu),
    `${fmt(floorFlowCpu)} (4 floor requests)`,
    fmt(peerCibaCpu),
    ratio(cibaCpu, floorFlowCpu),
    ratio(cibaCpu, peerCibaCpu),
  ]);
  const cc = v.peak("edge-op", "client_credentials");
  const peerCc = v.peak("oidc-provider", "client_credentials");
  const ccCpu = v.cpu("edge-op", "client_credentials");
  const peerCcCpu = v.cpu("oidc-provider", "client_credentials");
  rows.push([
    "client_credentials: requests/s (best level)",
    fmt(cc),
    fmt(floorPeak),
    fmt(peerCc),
    ratio(cc, floorPeak),
    ratio(cc, peerCc),
  ]);
  rows.push([
    "client_credentials: server CPU ms/request",
    fmt(ccCpu),
    fmt(floorCpu),
    fmt(peerCcCpu),
    ratio(ccCpu, floorCpu),
    ratio(ccCpu, peerCcCpu),
  ]);
  if (v.all("edge-op", "par").length > 0) {
    const par = v.peak("edge-op", "par");
    const peerPar = v.peak("oidc-provider", "par");
    const parCpu = v.cpu("edge-op", "par");
    const peerParCpu = v.cpu("oidc-provider", "par");
    const floorPar = floorPeak === undefined ? undefined : floorPeak / 2;
    const floorParCpu = floorCpu === undefined ? undefined : floorCpu * 2;
    rows.push([
      "PAR push + /authorize: flows/s (best level)",
      fmt(par),
      `${fmt(floorPar)} (2 floor requests)`,
      fmt(peerPar),
      ratio(par, floorPar),
      ratio(par, peerPar),
    ]);
    rows.push([
      "PAR push + /authorize: server CPU ms/flow",
      fmt(parCpu),
      `${fmt(floorParCpu)} (2 floor requests)`,
      fmt(peerParCpu),
      ratio(parCpu, floorParCpu),
      ratio(parCpu, peerParCpu),
    ]);
  }
  const top = v.top;
  for (const endpoint of ["bc-authorize", "token (pending)", "complete", "token (tokens)"]) {
    const e = v.get("edge-op", "ciba", 1)?.latency[endpoint]?.p50;
    const p = v.get("oidc-provider", "ciba", 1)?.latency[endpoint]?.p50;
    const f = v.get("floor", "floor", 1)?.latency["floor (route + DO RPC + KV write)"]?.p50;
    rows.push([`p50 latency at c=1, ${endpoint} (ms)`, fmt(e), fmt(f), fmt(p), ratio(e, f), ratio(e, p)]);
  }
  const e99 = v.get("edge-op", "ciba", top)?.latency["token (tokens)"]?.p99;
  const p99 = v.get("oidc-provider", "ciba", top)?.latency["token (tokens)"]?.p99;
  const f99 = v.get("floor", "floor", top)?.latency["floor (route + DO RPC + KV write)"]?.p99;
  rows.push([
    `p99 latency at c=${top}, token (tokens) (ms)`,
    fmt(e99),
    fmt(f99),
    fmt(p99),
    ratio(e99, f99),
    ratio(e99, p99),
  ]);
  const floorCost = v.counted("floor", "floor")?.cost.operationsUsd;
  const costRow = (label: string, scenario: ScenarioId, floorRequests: number) => {
    const cost = v.counted("edge-op", scenario)?.cost.operationsUsd;
    if (cost === undefined || floorCost === undefined) return;
    const floor = floorCost * floorRequests;
    const note = floorRequests === 1 ? "" : ` (${floorRequests} floor requests)`;
    rows.push([label, usd(cost), `${usd(floor)}${note}`, "not priced (own servers)", ratio(cost, floor), "–"]);
  };
  costRow("CIBA: $ per million flows (platform operations)", "ciba", 4);
  costRow("PAR: $ per million flows (platform operations)", "par", 2);
  costRow("client_credentials: $ per million requests", "client_credentials", 1);
  const start = (target: TargetId) => v.r.startup.find((x) => x.target === target)?.medianMs;
  rows.push([
    "start-up, process start → first 200 (ms)",
    fmt(start("edge-op")),
    fmt(start("floor")),
    fmt(start("oidc-provider")),
    ratio(start("edge-op"), start("floor")),
    ratio(start("edge-op"), start("oidc-provider")),
  ]);
  const gzip = (name: string) => v.r.bundles.find((b) => b.name === name)?.gzipKiB;
  rows.push([
    "bundle, gzip (KiB)",
    fmt(gzip("product")),
    fmt(gzip("floor")),
    "–",
    ratio(gzip("product"), gzip("floor")),
    "–",
  ]);
  return table(["", "edge-op", "platform floor", "oidc-provider", "edge-op ÷ floor", "edge-op ÷ oidc-provider"], rows);
}

function scenarioTable(v: View, id: ScenarioId): string {
  const scenario = v.r.scenarios.find((s) => s.id === id);
  if (!scenario || scenario.targets.length === 0) return "";
  const perRequest = scenario.unit === "request";
  const header = [
    "target",
    "c",
    `${scenario.unit}s/s`,
    ...(perRequest ? [] : ["requests/s"]),
    `server CPU ms/${scenario.unit}`,
    ...scenario.endpoints.map((e) => `${e} p50 / p99 ms`),
    "errors",
  ];
  const rows: string[][] = [];
  for (const level of v.r.levels) {
    for (const target of scenario.targets) {
      const m = v.get(target, id, level);
      if (!m) continue;
      rows.push([
        target,
        String(level),
        fmt(m.flowsPerSecond),
        ...(perRequest ? [] : [fmt(m.requestsPerSecond)]),
        fmt(m.cpuMsPerFlow),
        ...scenario.endpoints.map((e) => `${fmt(m.latency[e]?.p50)} / ${fmt(m.latency[e]?.p99)}`),
        m.failed === 0 ? "0" : `**${m.failed}** (${Object.keys(m.errors).join("; ")})`,
      ]);
    }
  }
  return `### ${scenario.title}\n\n${table(header, rows)}\n`;
}

function phaseTable(v: View): string {
  if (v.r.phases.length === 0) return "";
  const endpoints = [...new Set(v.r.phases.map((p) => p.endpoint))];
  const targets = [...new Set(v.r.phases.map((p) => p.target))];
  const rows = endpoints.map((endpoint) => [
    endpoint,
    ...targets.flatMap((target) => {
      const p = v.r.phases.find((x) => x.target === target && x.endpoint === endpoint);
      return [fmt(p?.cpuMsPerRequest), fmt(p?.latency.p50), fmt(p?.requestsPerSecond)];
    }),
  ]);
  const totals = targets.flatMap((target) => {
    const cpu = v.r.phases.filter((p) => p.target === target).reduce((a, p) => a + p.cpuMsPerRequest, 0);
    return [fmt(cpu), "", ""];
  });
  rows.push(["**whole flow**", ...totals]);
  const header = ["endpoint", ...targets.flatMap((t) => [`${t} CPU ms/req`, `${t} p50 ms`, `${t} req/s`])];
  return table(header, rows);
}

function opsTable(v: View): string {
  const rows: string[][] = [];
  const items: [string, (c: CountedOps) => number][] = [
    ["Worker requests", (c) => c.perFlow.workerRequests],
    ["Durable Object requests (RPC)", (c) => c.perFlow.doRequests],
    ["Durable Object alarm invocations", (c) => c.perFlow.doAlarms],
    ["DO SQLite rows read", (c) => c.perFlow.doRowsRead],
    ["DO SQLite rows written", (c) => c.perFlow.doRowsWritten],
    ["DO setAlarm (billed as a row written)", (c) => c.perFlow.doSetAlarm],
    ["KV reads", (c) => c.perFlow.kvReads],
    ["KV writes", (c) => c.perFlow.kvWrites],
    ["KV deletes", (c) => c.perFlow.kvDeletes],
    ["D1 queries", (c) => c.perFlow.d1Queries],
    ["D1 rows read", (c) => c.perFlow.d1RowsRead],
    ["D1 rows written", (c) => c.perFlow.d1RowsWritten],
    ["DO active wall time, ms (upper bound)", (c) => c.perFlow.doActiveMs],
  ];
  const columns = v.r.counted;
  const count = (value: number) => (Number.isInteger(value) ? String(value) : fmt(value, 2));
  for (const [label, pick] of items) rows.push([label, ...columns.map((c) => count(pick(c)))]);
  rows.push(["**$ per million, operations**", ...columns.map((c) => `**${usd(c.cost.operationsUsd)}**`)]);
  const cpu = (c: CountedOps) => c.cost.lines.find((l) => l.item.startsWith("Workers CPU"))?.usdPerMillionFlows ?? 0;
  const duration = (c: CountedOps) =>
    c.cost.lines.find((l) => l.item.startsWith("Durable Object GB-s"))?.usdPerMillionFlows ?? 0;
  rows.push(["+ Workers CPU (local CPU as upper bound)", ...columns.map((c) => usd(cpu(c)))]);
  rows.push(["+ DO duration (estimate)", ...columns.map((c) => usd(duration(c)))]);
  rows.push(["**$ per million, total**", ...columns.map((c) => `**${usd(c.cost.totalUsd)}**`)]);
  return table(["per flow / request", ...columns.map((c) => `${c.target} ${c.scenario}`)], rows);
}

function endpointOpsTable(v: View): string {
  const ciba = v.counted("edge-op", "ciba");
  if (!ciba?.perEndpoint) return "";
  const endpoints = Object.keys(ciba.perEndpoint);
  const pick: [string, (o: CountedOps["perFlow"]) => number][] = [
    ["DO requests", (o) => o.doRequests],
    ["DO alarms", (o) => o.doAlarms],
    ["DO rows written (+ setAlarm)", (o) => o.doRowsWritten + o.doSetAlarm],
    ["DO rows read", (o) => o.doRowsRead],
    ["D1 queries", (o) => o.d1Queries],
    ["D1 rows written", (o) => o.d1RowsWritten],
    ["KV ops", (o) => o.kvReads + o.kvWrites + o.kvDeletes],
  ];
  const rows = endpoints.map((e) => {
    const ops = ciba.perEndpoint?.[e];
    return [e, ...pick.map(([, f]) => (ops ? fmt(f(ops), 2) : "–"))];
  });
  return table(["edge-op CIBA endpoint", ...pick.map(([l]) => l)], rows);
}

function pct(before: number | undefined, after: number | undefined): string {
  if (before === undefined || after === undefined || before === 0) return "–";
  const change = ((after - before) / before) * 100;
  return `${change >= 0 ? "+" : ""}${change.toFixed(0)}%`;
}

function whatIf(v: View): string {
  if (v.all("edge-op-no-cache", "ciba").length === 0) return "";
  const rows: string[][] = [];
  const add = (label: string, before: number | undefined, after: number | undefined) =>
    rows.push([label, fmt(before), fmt(after), pct(before, after)]);
  for (const id of ["ciba", "par", "client_credentials"] as ScenarioId[]) {
    if (v.all("edge-op", id).length === 0) continue;
    const unit = id === "client_credentials" ? "requests" : "flows";
    add(`${id}: ${unit}/s (best level)`, v.peak("edge-op-no-cache", id), v.peak("edge-op", id));
    add(
      `${id}: server CPU ms per ${unit === "flows" ? "flow" : "request"}`,
      v.cpu("edge-op-no-cache", id),
      v.cpu("edge-op", id),
    );
  }
  for (const endpoint of ["bc-authorize", "token (pending)", "token (tokens)"]) {
    add(
      `ciba: ${endpoint} p50 at c=1 (ms)`,
      v.get("edge-op-no-cache", "ciba", 1)?.latency[endpoint]?.p50,
      v.get("edge-op", "ciba", 1)?.latency[endpoint]?.p50,
    );
  }
  add(
    "client_credentials p50 at c=1 (ms)",
    v.get("edge-op-no-cache", "client_credentials", 1)?.latency["token (client_credentials)"]?.p50,
    v.get("edge-op", "client_credentials", 1)?.latency["token (client_credentials)"]?.p50,
  );
  return [
    table(["", "client cache off (before)", "edge-op as shipped (after)", "change"], rows),
    "",
    "The cache removes the `SELECT * FROM clients` query from every authenticated request once an isolate has seen the client (three of the CIBA flow's D1 queries before; the statement table below counts the shipped build). Locally that query is a round trip to workerd's D1 simulator; in production it is a round trip to the database's one location, from whichever colo serves the request.",
  ].join("\n");
}

function statementTable(v: View): string {
  const ciba = v.counted("edge-op", "ciba");
  if (!ciba) return "";
  const rows: string[][] = [];
  const add = (where: string, statements: Record<string, { calls: number; rowsRead: number; rowsWritten: number }>) => {
    for (const [sql, c] of Object.entries(statements).sort((a, b) => b[1].rowsWritten - a[1].rowsWritten)) {
      rows.push([
        where,
        `\`${sql.replace(/\|/g, "\\|")}\``,
        fmt(c.calls, 2),
        fmt(c.rowsRead, 2),
        fmt(c.rowsWritten, 2),
      ]);
    }
  };
  add("Durable Object", ciba.doStatements);
  add("D1", ciba.d1Statements);
  rows.push([
    "Durable Object",
    "setAlarm()",
    fmt(ciba.perFlow.doSetAlarm, 2),
    "–",
    `${fmt(ciba.perFlow.doSetAlarm, 2)} (billed)`,
  ]);
  return table(["where", "statement", "calls/flow", "rows read/flow", "rows written/flow"], rows);
}

function profileTables(v: View): string {
  const p = v.r.profile;
  if (!p) return "";
  const modules = p.byModule
    .slice(0, 14)
    .map((m) => [`\`${m.module}\``, fmt(m.msPerFlow, 3), `${(m.share * 100).toFixed(1)}%`]);
  const functions = p.topFunctions
    .slice(0, 12)
    .map((f) => [`\`${f.name}\``, `\`${f.module}\``, fmt(f.msPerFlow, 3), `${(f.share * 100).toFixed(1)}%`]);
  return [
    `${p.flows} CIBA flows at c=8, ${p.samples} samples every ~${p.sampleIntervalUs} µs. edge-op's isolate (Worker + its Durable Objects) was busy **${fmt(p.busyMsPerFlow)} ms per flow**, of **${fmt(p.processCpuMsPerFlow)} ms** of workerd CPU per flow in that run: the rest is workerd itself (HTTP, RPC between the Worker and its objects, SQLite) and the D1/KV simulators, which run in other isolates. \`(runtime built-ins)\` are workerd's natively implemented APIs called from JS (Durable Object stubs, \`fetch\`, \`Response.text\`, Web Crypto…), \`(program)\` is V8 and runtime work outside any JS function, \`cloudflare-internal:d1-api\` is the D1 binding's JS client (it runs in the Worker in production too).`,
    "",
    table(["source (self time)", "ms per flow", "share"], modules),
    "",
    table(["function (self time)", "source", "ms per flow", "share"], functions),
  ].join("\n");
}

function charts(v: View): string {
  const levels = v.r.levels.map((l) => `c=${l}`);
  const series = (target: TargetId, scenario: ScenarioId, name: string, scale = 1, color = COLORS[target]) => ({
    name,
    color,
    values: v.r.levels.map((l) => {
      const m = v.get(target, scenario, l);
      return m ? round(m.flowsPerSecond * scale, 1) : undefined;
    }),
  });
  const list: BarChart[] = [
    {
      title: "CIBA poll flows per second (4 requests each)",
      unit: "flows/s",
      categories: levels,
      series: [
        series("edge-op", "ciba", "edge-op"),
        series("edge-op-no-cache", "ciba", "edge-op, client cache off (before)"),
        series("oidc-provider", "ciba", "oidc-provider"),
        series("floor", "floor", "floor ÷ 4 (4 floor requests per flow)", 0.25),
      ],
    },
    {
      title: "client_credentials requests per second",
      unit: "requests/s",
      categories: levels,
      series: [
        series("edge-op", "client_credentials", "edge-op"),
        series("edge-op-no-cache", "client_credentials", "edge-op, client cache off"),
        series("oidc-provider", "client_credentials", "oidc-provider"),
        series("floor", "floor", "floor (route + DO RPC + KV write)"),
        series("floor", "hello", "bare Hono route", 1, COLORS.hello),
      ],
    },
  ];
  const cpuCategories = ["CIBA flow", "client_credentials"];
  const cpuOf = (target: TargetId) => [v.cpu(target, "ciba"), v.cpu(target, "client_credentials")];
  const floorCpu = v.cpu("floor", "floor");
  list.push({
    title: "Server CPU time per flow / request (ms, from /proc)",
    unit: "ms",
    categories: cpuCategories,
    series: [
      { name: "edge-op (workerd)", color: COLORS["edge-op"], values: cpuOf("edge-op") },
      { name: "edge-op, client cache off", color: COLORS["edge-op-no-cache"], values: cpuOf("edge-op-no-cache") },
      { name: "oidc-provider (node)", color: COLORS["oidc-provider"], values: cpuOf("oidc-provider") },
      {
        name: "floor (×4 for a flow)",
        color: COLORS.floor,
        values: [floorCpu === undefined ? undefined : floorCpu * 4, floorCpu],
      },
    ],
  });
  return renderCharts(list);
}

export function renderReport(r: BenchResults, chartPath: string): { markdown: string; svg: string } {
  const v = new View(r);
  const failed = r.measurements.filter((m) => m.failed > 0).length + r.phases.filter((p) => p.failed > 0).length;
  const bundle = (name: string) => r.bundles.find((b) => b.name === name);
  const product = bundle("product");
  const floor = bundle("floor");
  const lines: string[] = [];
  lines.push("# edge-op benchmark results");
  lines.push("");
  lines.push(
    `Generated by \`npm run bench${r.mode === "smoke" ? " -- --smoke" : ""}\` on ${r.generatedAt.slice(0, 10)} in ${r.durationS} s, on a **${r.machine.cores}-core machine** (load average ${r.machine.loadBefore.load1.toFixed(2)} before, ${r.machine.loadAfter.load1.toFixed(2)} after; ${r.machine.platform}, Node ${r.machine.node}; workerd storage on ${r.machine.storage}). ` +
      `Versions: ${Object.entries(r.versions)
        .map(([k, x]) => `${k} ${x}`)
        .join(
          ", ",
        )}. Method, caveats and the hot-path analysis: [README.md](README.md). Raw data: [results/latest.json](results/latest.json).`,
  );
  lines.push("");
  lines.push(
    "Local figures are not production figures (no edge network, no KV cache, no replication, the load generator shares the cores): compare the **ratios**, each taken in this same run on this same machine.",
  );
  if (r.mode === "smoke") lines.push("\n> **Smoke run**: tiny counts, for CI. The numbers mean nothing.");
  if (failed > 0) lines.push(`\n> **${failed} measurement(s) had failed flows**: see the errors column below.`);
  lines.push("");
  lines.push("## Headline");
  lines.push("");
  lines.push(headline(v));
  lines.push("");
  lines.push(
    "Throughput is the best concurrency level; CPU is the median over the levels. The platform floor is a bare Hono route plus one Durable Object RPC (a new SQLite-backed object per request, one row written) and one KV write, in the same workerd; a CIBA flow (4 requests) is compared with four such requests, a PAR flow with two. oidc-provider runs in Node 22 with everything in process memory (a Map adapter), ES256 JWT access tokens and ES256 ID tokens (bench/peer/server.ts): no storage round trips at all, and nothing durable.",
  );
  lines.push("");
  lines.push(`![Throughput and CPU](${chartPath})`);
  lines.push("");
  lines.push("## Throughput, CPU and latency by concurrency");
  lines.push("");
  lines.push(
    `Each row is the best of ${r.repeats} run(s) by throughput (all runs are in the JSON). ` +
      "`c` is the number of requests in flight. A CIBA flow waits 1 s (its polling interval) between the pending poll and the token request without holding a slot, so throughput is measured over busy time. Server CPU is the utime + stime of the server process (workerd for edge-op and the floor, node for oidc-provider) per completed flow.",
  );
  lines.push("");
  for (const id of ["ciba", "par", "client_credentials", "floor", "hello"] as ScenarioId[]) {
    const t = scenarioTable(v, id);
    if (t) lines.push(t);
  }
  for (const p of r.pending) lines.push(`- **Pending**: ${p.scenario} on ${p.target}: ${p.reason}.`);
  if (r.pending.length) lines.push("");
  lines.push("## Where the CPU goes: CIBA endpoint by endpoint");
  lines.push("");
  lines.push(
    `Every flow's first step, then every flow's second step, and so on, ${r.phases[0]?.requests ?? 0} requests per step, at c=${r.phases[0]?.concurrency ?? "–"}; CPU per request from /proc around each step (one run each: expect ±20% noise between targets). bc-authorize includes the notification alarm it triggers.`,
  );
  lines.push("");
  lines.push(phaseTable(v));
  lines.push("");
  const prof = profileTables(v);
  if (prof) {
    lines.push("## Where edge-op's own JavaScript spends its time (V8 profile)");
    lines.push("");
    lines.push(prof);
    lines.push("");
  }
  const wi = whatIf(v);
  if (wi) {
    lines.push("## Before and after: the client registration cache (CLIENT_CACHE_SECONDS)");
    lines.push("");
    lines.push(
      "Measured in the same run and the same workerd: the same build once more, with `CLIENT_CACHE_SECONDS=0` (how every request read its client from D1 before the cache was added to src/clients/registry.ts), beside edge-op as shipped (default 30 s).",
    );
    lines.push("");
    lines.push(wi);
    lines.push("");
  }
  lines.push("## Platform operations and cost");
  lines.push("");
  lines.push(
    `Counted, not estimated: a second build of the same Worker (bench/worker/counting-entry.ts) counts every D1, KV and Durable Object call the product's code makes and every SQLite cursor's rowsRead/rowsWritten inside the objects, over ${r.counted[0]?.flows ?? 0} flows per scenario at c=1. The completion request stands for the user's approval, itself a Worker request in production.`,
  );
  lines.push("");
  lines.push(opsTable(v));
  lines.push("");
  const endpointOps = endpointOpsTable(v);
  if (endpointOps) {
    lines.push("Per request, by CIBA endpoint (the clean-up alarm runs at expiry + `CIBA_EXPIRED_GRACE`):");
    lines.push("");
    lines.push(endpointOps);
    lines.push("");
  }
  const statements = statementTable(v);
  if (statements) {
    lines.push("Per SQL statement of the CIBA flow (rows as reported by the SQLite cursors and D1's `meta`):");
    lines.push("");
    lines.push(statements);
    lines.push("");
  }
  lines.push(
    `Prices (Workers Paid plan, USD, beyond the monthly inclusions; read ${PRICES_READ_ON}): Workers requests $${PRICES.workerRequests}/M, CPU $${PRICES.workerCpuMs}/M ms; Durable Objects requests $${PRICES.doRequests}/M (RPC calls and alarm invocations), duration $${PRICES.doGbSeconds}/M GB-s (128 MB while active), SQLite rows read $${PRICES.doRowsRead}/M, rows written $${PRICES.doRowsWritten}/M (each setAlarm is one row written); KV reads $${PRICES.kvReads}/M, writes/deletes/lists $${PRICES.kvWrites}/M; D1 rows read $${PRICES.d1RowsRead}/M, rows written $${PRICES.d1RowsWritten}/M. Sources: ${PRICE_SOURCES.map((s) => `[${s.product}](${s.url})`).join(", ")}. Storage (GB-month) is not included.`,
  );
  lines.push("");
  lines.push("## Bundle size and start-up");
  lines.push("");
  lines.push(
    table(
      ["", "edge-op", "floor"],
      [
        ["bundle, `wrangler deploy --dry-run` (KiB)", fmt(product?.uploadKiB), fmt(floor?.uploadKiB)],
        ["bundle, gzip (KiB)", fmt(product?.gzipKiB), fmt(floor?.gzipKiB)],
      ],
    ),
  );
  lines.push("");
  lines.push(
    table(
      ["start-up", "what", "median ms", "samples"],
      r.startup.map((s) => [s.target, s.what, fmt(s.medianMs), s.samplesMs.map((x) => fmt(x)).join(", ")]),
    ),
  );
  lines.push("");
  lines.push(
    "Start-up includes launching the runtime process (workerd or node), so it is a local cold start, not the Workers isolate start (the platform's limit is 1 s for the script's top level; the gzip bundle is what the platform loads).",
  );
  if (r.notes.length) {
    lines.push("");
    lines.push("## Notes");
    lines.push("");
    for (const note of r.notes) lines.push(`- ${note}`);
  }
  lines.push("");
  return { markdown: lines.join("\n"), svg: charts(v) };
}
