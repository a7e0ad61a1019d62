/**
 * RESULTS.md and its chart, rendered from the results JSON alone (so the report can be
 * regenerated from bench/results/latest.json without rerunning).
 */
import { checkoutRevision } from "../../scripts/lib/revision.ts";
import { PLAN_USD_PER_MONTH, PRICE_LABELS, PRICE_SOURCES, PRICES, PRICES_READ_ON } from "./prices";
import type { BenchResults, CountedOps, Measurement, TargetId } from "./results";
import { SCENARIO_ORDER, type ScenarioId } from "./scenarios";
import { median, round } from "./stats";
import { type BarChart, renderCharts } from "./svg";

const COLORS: Record<TargetId, string> = {
  "edge-op": "#f38020",
  "edge-op-baseline": "#f9c08a",
  "oidc-provider": "#4a7ab8",
  "oidc-provider-sqlite": "#9bb8de",
  floor: "#7a7a7a",
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

function usd(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return "–";
  if (value === 0) return "$0";
  if (value < 0.01) return `$${value.toFixed(4)}`;
  if (value >= 1000) return `$${Math.round(value).toLocaleString("en-US")}`;
  return `$${value.toFixed(2)}`;
}

function count(value: number): string {
  return Number.isInteger(value) ? String(value) : fmt(value, 2);
}

function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

const PEERS: TargetId[] = ["oidc-provider", "oidc-provider-sqlite"];

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
  peak(target: TargetId, scenario: ScenarioId): number | undefined {
    const values = this.all(target, scenario).map((m) => m.flowsPerSecond);
    return values.length ? Math.max(...values) : undefined;
  }

  p50(target: TargetId, scenario: ScenarioId, endpoint: string, level = 1): number | undefined {
    return this.get(target, scenario, level)?.latency[endpoint]?.p50;
  }

  counted(target: TargetId, scenario: ScenarioId): CountedOps | undefined {
    return this.r.counted.find((c) => c.target === target && c.scenario === scenario);
  }

  scenario(id: ScenarioId) {
    return this.r.scenarios.find((s) => s.id === id);
  }

  serves(target: TargetId, id: ScenarioId): boolean {
    return this.scenario(id)?.targets.includes(target) ?? false;
  }

  get top(): number {
    return Math.max(...this.r.levels);
  }

  get hasBaseline(): boolean {
    return this.r.measurements.some((m) => m.target === "edge-op-baseline");
  }
}

const SHORT: Record<ScenarioId, string> = {
  ciba: "CIBA poll flow",
  code: "Code flow (PAR → authorize → token → userinfo)",
  par: "PAR push + /authorize",
  client_credentials: "client_credentials",
  dpop_code: "Code flow with DPoP (proofs at par, token, userinfo)",
  dpop_client_credentials: "client_credentials with DPoP",
};

function headline(v: View): string {
  const rows: string[][] = [];
  const row = (label: string, pick: (t: TargetId) => number | undefined, format = fmt) => {
    const e = pick("edge-op");
    const f = pick("floor");
    const [m, q] = PEERS.map(pick);
    rows.push([label, format(e), format(f), format(m), format(q), ratio(e, f), ratio(e, m), ratio(e, q)]);
  };
  for (const id of SCENARIO_ORDER) {
    if (!v.serves("edge-op", id)) continue;
    const unit = v.scenario(id)?.unit ?? "flow";
    row(`${SHORT[id]}: ${unit}s/s (best level)`, (t) => v.peak(t, id));
    row(`${SHORT[id]}: server CPU ms/${unit}`, (t) => v.cpu(t, id));
  }
  for (const [id, endpoint] of [
    ["ciba", "bc-authorize"],
    ["ciba", "token (pending)"],
    ["ciba", "complete"],
    ["ciba", "token (tokens)"],
    ["code", "authorize"],
    ["code", "token (code)"],
    ["code", "userinfo"],
  ] as [ScenarioId, string][]) {
    if (v.serves("edge-op", id)) row(`p50 latency at c=1, ${id} ${endpoint} (ms)`, (t) => v.p50(t, id, endpoint));
  }
  row(
    `p99 latency at c=${v.top}, ciba token (tokens) (ms)`,
    (t) => v.get(t, "ciba", v.top)?.latency["token (tokens)"]?.p99,
  );
  for (const id of SCENARIO_ORDER) {
    const e = v.counted("edge-op", id);
    const f = v.counted("floor", id);
    if (!e) continue;
    const unit = v.scenario(id)?.unit ?? "flow";
    rows.push([
      `${SHORT[id]}: rows written per ${unit} (DO + setAlarm + D1)`,
      count(e.perFlow.billedRowsWritten),
      f ? count(f.perFlow.billedRowsWritten) : "–",
      "–",
      "–",
      ratio(e.perFlow.billedRowsWritten, f?.perFlow.billedRowsWritten),
      "–",
      "–",
    ]);
    rows.push([
      `${SHORT[id]}: $ per million ${unit}s (platform operations)`,
      usd(e.cost.operationsUsd),
      usd(f?.cost.operationsUsd),
      "own servers",
      "own servers",
      ratio(e.cost.operationsUsd, f?.cost.operationsUsd),
      "–",
      "–",
    ]);
  }
  const start = (target: TargetId) => v.r.startup.find((x) => x.target === target)?.medianMs;
  rows.push([
    "start-up, process start → first 200 (ms)",
    fmt(start("edge-op")),
    fmt(start("floor")),
    fmt(start("oidc-provider")),
    "–",
    ratio(start("edge-op"), start("floor")),
    ratio(start("edge-op"), start("oidc-provider")),
    "–",
  ]);
  const gzip = (name: string) => v.r.bundles.find((b) => b.name === name)?.gzipKiB;
  rows.push([
    "bundle, gzip (KiB)",
    fmt(gzip("product")),
    fmt(gzip("floor")),
    "–",
    "–",
    ratio(gzip("product"), gzip("floor")),
    "–",
    "–",
  ]);
  return table(
    [
      "",
      "edge-op",
      "floor (same scenario)",
      "oidc-provider (memory)",
      "oidc-provider-sqlite",
      "edge-op ÷ floor",
      "edge-op ÷ oidc-provider",
      "edge-op ÷ oidc-provider-sqlite",
    ],
    rows,
  );
}

function floorList(v: View): string {
  return v.r.floors.map((f) => `- **${SHORT[f.scenario]}**: ${f.does}.`).join("\n");
}

function scenarioTable(v: View, id: ScenarioId): string {
  const scenario = v.scenario(id);
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
    ["DO deleteAll calls (not priced)", (c) => c.perFlow.doDeleteAll ?? 0],
    ["DO rows removed by deleteAll (not priced)", (c) => c.perFlow.doDeleteAllRows ?? 0],
    ["KV reads", (c) => c.perFlow.kvReads],
    ["KV writes", (c) => c.perFlow.kvWrites],
    ["KV deletes", (c) => c.perFlow.kvDeletes],
    ["D1 queries", (c) => c.perFlow.d1Queries],
    ["D1 rows read", (c) => c.perFlow.d1RowsRead],
    ["D1 rows written", (c) => c.perFlow.d1RowsWritten],
    ["**rows written, billed (DO + setAlarm + D1)**", (c) => c.perFlow.billedRowsWritten],
    ["DO active wall time, ms (upper bound)", (c) => c.perFlow.doActiveMs],
  ];
  const columns = [...v.r.counted].sort(
    (a, b) => SCENARIO_ORDER.indexOf(a.scenario) - SCENARIO_ORDER.indexOf(b.scenario),
  );
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

/** Every statement and storage call of one counted scenario, with what it costs per million flows. */
function statementTable(c: CountedOps): string {
  const rows: string[][] = [];
  const price = (read: number, written: number, readPrice: number, writePrice: number) =>
    usd(read * readPrice + written * writePrice);
  const add = (
    where: string,
    statements: Record<string, { calls: number; rowsRead: number; rowsWritten: number }>,
    readPrice: number,
  ) => {
    for (const [sql, s] of Object.entries(statements).sort((a, b) => b[1].rowsWritten - a[1].rowsWritten)) {
      rows.push([
        where,
        `\`${sql.replace(/\|/g, "\\|")}\``,
        fmt(s.calls, 2),
        fmt(s.rowsRead, 2),
        fmt(s.rowsWritten, 2),
        price(s.rowsRead, s.rowsWritten, readPrice, PRICES.doRowsWritten),
      ]);
    }
  };
  add("Durable Object", c.doStatements, PRICES.doRowsRead);
  add("D1", c.d1Statements, PRICES.d1RowsRead);
  const sqlRowsWritten = Object.values(c.doStatements).reduce((n, s) => n + s.rowsWritten, 0);
  const kvApiWrites = round(c.perFlow.doRowsWritten - sqlRowsWritten, 3);
  if (kvApiWrites > 0) {
    rows.push([
      "Durable Object",
      "key-value API put/delete (`storage.put`, `storage.kv.put`, …)",
      fmt(kvApiWrites, 2),
      "–",
      fmt(kvApiWrites, 2),
      usd(kvApiWrites * PRICES.doRowsWritten),
    ]);
  }
  if (c.perFlow.doSetAlarm > 0) {
    rows.push([
      "Durable Object",
      "setAlarm()",
      fmt(c.perFlow.doSetAlarm, 2),
      "–",
      `${fmt(c.perFlow.doSetAlarm, 2)} (billed)`,
      usd(c.perFlow.doSetAlarm * PRICES.doRowsWritten),
    ]);
  }
  if ((c.perFlow.doDeleteAll ?? 0) > 0) {
    rows.push([
      "Durable Object",
      "deleteAll()",
      fmt(c.perFlow.doDeleteAll, 2),
      "–",
      `${fmt(c.perFlow.doDeleteAllRows ?? 0, 2)} removed (not counted)`,
      "not priced",
    ]);
  }
  rows.push([
    "**all**",
    "**rows, billed (written; $ includes reads)**",
    "",
    "",
    `**${fmt(c.perFlow.billedRowsWritten, 2)}**`,
    `**${usd(
      c.cost.lines.filter((l) => /rows (read|written)/.test(l.item)).reduce((n, l) => n + l.usdPerMillionFlows, 0),
    )}**`,
  ]);
  return table(
    ["where", "statement", "calls/flow", "rows read/flow", "rows written/flow", "$ per million flows"],
    rows,
  );
}

function rowsByKindTable(v: View): string {
  const rows = [...v.r.counted]
    .sort((a, b) => SCENARIO_ORDER.indexOf(a.scenario) - SCENARIO_ORDER.indexOf(b.scenario))
    .map((c) => [
      c.scenario,
      c.target,
      count(c.perFlow.doRowsWritten),
      count(c.perFlow.doSetAlarm),
      count(c.perFlow.d1RowsWritten),
      `**${count(c.perFlow.billedRowsWritten)}**`,
      `${count(c.perFlow.doDeleteAll ?? 0)} (${count(c.perFlow.doDeleteAllRows ?? 0)} rows)`,
      usd(c.perFlow.billedRowsWritten * PRICES.doRowsWritten),
    ]);
  return table(
    [
      "scenario",
      "target",
      "DO SQLite rows written",
      "setAlarm calls",
      "D1 rows written",
      "billed rows written",
      "deleteAll calls (rows they removed; not priced)",
      "$ per million flows for the rows",
    ],
    rows,
  );
}

function costGrowthTable(v: View): string {
  const rows: string[][] = [];
  for (const id of SCENARIO_ORDER) {
    for (const target of ["edge-op", "edge-op-baseline", "floor"] as TargetId[]) {
      const c = v.counted(target, id);
      if (!c) continue;
      rows.push([
        id,
        target,
        ...v.r.levels.flatMap((level) => {
          const at = c.costByLevel.find((l) => l.concurrency === level);
          return [fmt(at?.cpuMsPerFlow), usd(at?.usdPerMillionFlows)];
        }),
      ]);
    }
  }
  return table(
    ["scenario", "target", ...v.r.levels.flatMap((l) => [`CPU ms/flow c=${l}`, `$ per M flows c=${l}`])],
    rows,
  );
}

function monthlyTable(v: View): string {
  const rows: string[][] = [];
  for (const id of SCENARIO_ORDER) {
    for (const target of ["edge-op", "edge-op-baseline", "floor"] as TargetId[]) {
      const c = v.counted(target, id);
      if (!c) continue;
      rows.push([
        id,
        target,
        ...c.monthly.map(
          (m) =>
            `${usd(m.usd)}${m.largestItem ? ` (most: ${PRICE_LABELS[m.largestItem.item]} ${usd(m.largestItem.usd)})` : ""}`,
        ),
      ]);
    }
  }
  return table(["scenario", "target", "1 million flows / month", "10 million", "100 million"], rows);
}

/** A commit's subject, cut at its first clause when long. */
function shortSubject(subject: string): string {
  if (subject.length <= 100) return subject;
  const cut = subject.slice(0, 100);
  const stop = Math.max(cut.lastIndexOf(";"), cut.lastIndexOf(":"), cut.lastIndexOf(","));
  return `${stop > 40 ? cut.slice(0, stop) : cut}…`;
}

function pct(before: number | undefined, after: number | undefined): string {
  if (before === undefined || after === undefined || before === 0) return "–";
  const change = ((after - before) / before) * 100;
  return `${change >= 0 ? "+" : ""}${change.toFixed(0)}%`;
}

function baselineTable(v: View): string {
  if (!v.hasBaseline) return "";
  const rows: string[][] = [];
  const add = (label: string, before: number | undefined, after: number | undefined, format = fmt) =>
    rows.push([label, format(before), format(after), ratio(after, before), pct(before, after)]);
  add(
    "ciba: bc-authorize p50 at c=1 (ms)",
    v.p50("edge-op-baseline", "ciba", "bc-authorize"),
    v.p50("edge-op", "ciba", "bc-authorize"),
  );
  add("ciba: server CPU ms per flow", v.cpu("edge-op-baseline", "ciba"), v.cpu("edge-op", "ciba"));
  for (const id of SCENARIO_ORDER) {
    if (!v.serves("edge-op-baseline", id)) continue;
    add(`${id}: ${v.scenario(id)?.unit}s/s (best level)`, v.peak("edge-op-baseline", id), v.peak("edge-op", id));
    if (id !== "ciba")
      add(`${id}: server CPU ms per ${v.scenario(id)?.unit}`, v.cpu("edge-op-baseline", id), v.cpu("edge-op", id));
    for (const endpoint of v.scenario(id)?.endpoints ?? []) {
      if (id === "ciba" && endpoint === "bc-authorize") continue;
      add(
        `${id}: ${endpoint} p50 at c=1 (ms)`,
        v.p50("edge-op-baseline", id, endpoint),
        v.p50("edge-op", id, endpoint),
      );
    }
    const before = v.counted("edge-op-baseline", id);
    const after = v.counted("edge-op", id);
    if (before && after) {
      add(`${id}: rows written, billed`, before.perFlow.billedRowsWritten, after.perFlow.billedRowsWritten);
      add(`${id}: D1 rows written`, before.perFlow.d1RowsWritten, after.perFlow.d1RowsWritten);
      add(`${id}: $ per million (operations)`, before.cost.operationsUsd, after.cost.operationsUsd, usd);
    }
  }
  return table(["", "baseline (before)", "this checkout (after)", "after ÷ before", "change"], rows);
}

function charts(v: View): string {
  const levels = v.r.levels.map((l) => `c=${l}`);
  const targets: TargetId[] = ["edge-op", "edge-op-baseline", "oidc-provider", "oidc-provider-sqlite", "floor"];
  const present = targets.filter((t) => v.r.measurements.some((m) => m.target === t));
  const series = (scenario: ScenarioId) =>
    present.map((target) => ({
      name: target,
      color: COLORS[target],
      values: v.r.levels.map((l) => {
        const m = v.get(target, scenario, l);
        return m ? round(m.flowsPerSecond, 1) : undefined;
      }),
    }));
  const list: BarChart[] = SCENARIO_ORDER.filter((id) => v.scenario(id)).map((id) => ({
    title: `${SHORT[id]}: ${v.scenario(id)?.unit}s per second`,
    unit: `${v.scenario(id)?.unit}s/s`,
    categories: levels,
    series: series(id),
  }));
  list.push({
    title: "Server CPU time per flow / request (ms, from /proc; median over the levels)",
    unit: "ms",
    categories: SCENARIO_ORDER.map((id) => SHORT[id]),
    series: present.map((target) => ({
      name: target,
      color: COLORS[target],
      values: SCENARIO_ORDER.map((id) => v.cpu(target, id)),
    })),
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
  const say = (...text: string[]) => lines.push(...text);
  say("# edge-op benchmark results", "");
  say(
    `Generated by \`npm run bench${r.mode === "smoke" ? " -- --smoke" : ""}${r.baseline ? ` -- --baseline ${r.baseline.revision}` : ""}\` on ${r.generatedAt.slice(0, 10)} at ${checkoutRevision()} in ${r.durationS} s, on a **${r.machine.cores}-core machine** (load average ${r.machine.loadBefore.load1.toFixed(2)} before, ${r.machine.loadAfter.load1.toFixed(2)} after; ${r.machine.platform}, Node ${r.machine.node}; workerd storage on ${r.machine.storage}). ` +
      `Versions: ${Object.entries(r.versions)
        .map(([k, x]) => `${k} ${x}`)
        .join(
          ", ",
        )}. Method, caveats and the hot-path analysis: [README.md](README.md). Raw data: [results/latest.json](results/latest.json).`,
  );
  if (r.baseline) {
    say(
      "",
      `Baseline (target \`edge-op-baseline\`): ${r.baseline.revision} = \`${r.baseline.commit.slice(0, 12)}\` "${shortSubject(r.baseline.subject)}".`,
    );
  }
  say(
    "",
    "Local figures are not production figures (no edge network, no KV cache, no replication, the load generator shares the cores): compare the **ratios**, each taken in this same run on this same machine.",
  );
  if (r.mode === "smoke") say("", "> **Smoke run**: tiny counts, for CI. The numbers mean nothing.");
  if (failed > 0) say("", `> **${failed} measurement(s) had failed flows**: see the errors column below.`);
  say("", "## Headline", "", headline(v), "");
  say(
    "Throughput is the best concurrency level; CPU is the median over the levels. The floor is, per scenario, a Worker in the same workerd that does only the platform operations that scenario needs (below), so **edge-op ÷ floor** says how far edge-op is from the platform's own cost for the same work. oidc-provider runs in Node 22 with ES256 JWT access tokens and ES256 ID tokens (bench/peer/server.ts): **oidc-provider** keeps everything in process memory (nothing durable, no storage round trip), **oidc-provider-sqlite** keeps it in a SQLite database file (node:sqlite, WAL, one table per model: bench/peer/sqlite-adapter.ts), as its users deploy it.",
    "",
    "What each floor does:",
    "",
    floorList(v),
    "",
    `![Throughput and CPU](${chartPath})`,
    "",
  );
  say("## Throughput, CPU and latency by concurrency", "");
  say(
    `Each row is the best of ${r.repeats} run(s) by throughput (all runs are in the JSON). ` +
      "`c` is the number of requests in flight. A CIBA flow waits 1 s (its polling interval) between the pending poll and the token request without holding a slot, so throughput is measured over busy time. Server CPU is the utime + stime of the server process (workerd for edge-op and the floor, node for oidc-provider) per completed flow.",
    "",
  );
  for (const id of SCENARIO_ORDER) {
    const t = scenarioTable(v, id);
    if (t) say(t);
  }
  for (const p of r.pending) say(`- **Pending**: ${p.scenario} on ${p.target}: ${p.reason}.`);
  if (r.pending.length) say("");
  say("## Where the CPU goes: CIBA endpoint by endpoint", "");
  say(
    `Every flow's first step, then every flow's second step, and so on, ${r.phases[0]?.requests ?? 0} requests per step, at c=${r.phases[0]?.concurrency ?? "–"}; CPU per request from /proc around each step (one run each: expect ±20% noise between targets). bc-authorize includes the notification alarm it triggers.`,
    "",
    phaseTable(v),
    "",
  );
  const prof = profileTables(v);
  if (prof) say("## Where edge-op's own JavaScript spends its time (V8 profile)", "", prof, "");
  const before = baselineTable(v);
  if (before && r.baseline) {
    say(`## Before and after: ${r.baseline.revision} against this checkout`, "");
    say(
      `Measured in the same run on the same machine: \`${r.baseline.commit.slice(0, 12)}\` ("${shortSubject(r.baseline.subject)}"), bundled from its own tree with its own bench entry, in a workerd of its own, beside this checkout. Counted rows come from its own counting build when it has one.`,
      "",
      before,
      "",
    );
  }
  say("## Platform operations and cost", "");
  say(
    `Counted, not estimated: a second build of the same Worker (bench/worker/counting-entry.ts) counts every D1, KV and Durable Object call the product's code makes, every SQLite cursor's rowsRead/rowsWritten inside the objects, every key-value API call (one row per key) and every setAlarm, over ${r.counted[0]?.flows ?? 0} flows per scenario at c=1. The floor is counted the same way. The completion request stands for the user's approval, itself a Worker request in production.`,
    "",
    opsTable(v),
    "",
    "Rows written per flow, by kind (what the Workers Paid plan bills as rows written: SQLite rows in Durable Objects, each setAlarm, D1 rows):",
    "",
    rowsByKindTable(v),
    "",
  );
  const ciba = v.counted("edge-op", "ciba");
  if (ciba) {
    const rowsOk = ciba.perFlow.billedRowsWritten <= 4;
    const d1Ok = ciba.perFlow.d1RowsWritten === 0;
    say(
      `Issue 18's targets for a CIBA poll flow: at most 4 billed rows written (**${count(ciba.perFlow.billedRowsWritten)}**: ${rowsOk ? "met" : "not met"}) and none in D1 (**${count(ciba.perFlow.d1RowsWritten)}**: ${d1Ok ? "met" : "not met"}).`,
      "",
    );
  }
  const endpointOps = endpointOpsTable(v);
  if (endpointOps) {
    say(
      "Per request, by CIBA endpoint (the clean-up alarm runs at expiry + `CIBA_EXPIRED_GRACE`):",
      "",
      endpointOps,
      "",
    );
  }
  for (const id of SCENARIO_ORDER) {
    const c = v.counted("edge-op", id);
    if (!c) continue;
    say(
      `Statement by statement, edge-op ${id} (rows as reported by the SQLite cursors and D1's \`meta\`; $ at ${usd(PRICES.doRowsWritten)} per million rows written, ${usd(PRICES.doRowsRead)} per million read):`,
      "",
      statementTable(c),
      "",
    );
  }
  say("## How the cost grows with load", "");
  say(
    "Platform operations per flow do not depend on the load; the CPU per flow does (a busy isolate amortises more), and it is billed. $ per million flows at each concurrency level, with that level's CPU (local CPU as an upper bound of billed CPU) and the counted operations:",
    "",
    costGrowthTable(v),
    "",
    `A month of each scenario alone on the Workers Paid plan: $${PLAN_USD_PER_MONTH} a month including 10 million Worker requests, 30 million CPU ms, 1 million Durable Object requests, 400,000 GB-s, 50 million rows written each for Durable Objects and D1, 25 billion rows read each, 10 million KV reads and 1 million KV writes, deletes and lists; beyond that the prices below (CPU at the median level). "most" names the item that costs the most beyond its inclusion.`,
    "",
    monthlyTable(v),
    "",
  );
  say(
    `Prices (Workers Paid plan, USD, beyond the monthly inclusions; read ${PRICES_READ_ON}): Workers requests $${PRICES.workerRequests}/M, CPU $${PRICES.workerCpuMs}/M ms; Durable Objects requests $${PRICES.doRequests}/M (RPC calls and alarm invocations), duration $${PRICES.doGbSeconds}/M GB-s (128 MB while active), SQLite rows read $${PRICES.doRowsRead}/M, rows written $${PRICES.doRowsWritten}/M (each setAlarm is one row written); KV reads $${PRICES.kvReads}/M, writes/deletes/lists $${PRICES.kvWrites}/M; D1 rows read $${PRICES.d1RowsRead}/M, rows written $${PRICES.d1RowsWritten}/M. Sources: ${PRICE_SOURCES.map((s) => `[${s.product}](${s.url})`).join(", ")}. Storage (GB-month) is not included.`,
    "",
  );
  say("## Bundle size and start-up", "");
  say(
    table(
      ["", "edge-op", "floor"],
      [
        ["bundle, `wrangler deploy --dry-run` (KiB)", fmt(product?.uploadKiB), fmt(floor?.uploadKiB)],
        ["bundle, gzip (KiB)", fmt(product?.gzipKiB), fmt(floor?.gzipKiB)],
      ],
    ),
    "",
    table(
      ["start-up", "what", "median ms", "samples"],
      r.startup.map((s) => [s.target, s.what, fmt(s.medianMs), s.samplesMs.map((x) => fmt(x)).join(", ")]),
    ),
    "",
    "Start-up includes launching the runtime process (workerd or node), so it is a local cold start, not the Workers isolate start (the platform's limit is 1 s for the script's top level; the gzip bundle is what the platform loads).",
  );
  if (r.notes.length) {
    say("", "## Notes", "");
    for (const note of r.notes) say(`- ${note}`);
  }
  say("");
  return { markdown: lines.join("\n"), svg: charts(v) };
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
