/** The shape of bench/results/latest.json: everything RESULTS.md is rendered from. */
import type { CostBreakdown, MonthlyCost, OpsPerFlow } from "./prices";
import type { ProfileSummary } from "./profile";
import type { ScenarioId } from "./scenarios";
import type { LatencySummary } from "./stats";

/**
 * edge-op: this checkout; edge-op-baseline: another revision's build (`--baseline <rev>`);
 * oidc-provider: the peer with storage in memory; oidc-provider-sqlite: the peer on a SQLite
 * database file; floor: the platform floor of each scenario (bench/floor/worker.ts).
 */
export type TargetId = "edge-op" | "edge-op-baseline" | "oidc-provider" | "oidc-provider-sqlite" | "floor";

export interface Measurement {
  target: TargetId;
  scenario: ScenarioId;
  concurrency: number;
  flows: number;
  completed: number;
  failed: number;
  errors: Record<string, number>;
  firstError?: string;
  wallMs: number;
  busyMs: number;
  flowsPerSecond: number;
  requestsPerSecond: number;
  /** CPU of the server's process(es) per completed flow (utime + stime from /proc). */
  cpuMsPerFlow: number;
  /** CPU of the load generator (this Node process) per flow, for context: it shares the 2 cores. */
  driverCpuMsPerFlow: number;
  latency: Record<string, LatencySummary>;
  /** Every run of this measurement (the reported one is the best by throughput). */
  runs?: { flowsPerSecond: number; cpuMsPerFlow: number; failed: number }[];
}

export interface PhaseMeasurement {
  target: TargetId;
  endpoint: string;
  concurrency: number;
  requests: number;
  failed: number;
  cpuMsPerRequest: number;
  requestsPerSecond: number;
  latency: LatencySummary;
}

export interface CountedOps {
  target: TargetId;
  scenario: ScenarioId;
  flows: number;
  perFlow: OpsPerFlow;
  /** Per endpoint (CIBA only): the same counts, per request of that endpoint. */
  perEndpoint?: Record<string, OpsPerFlow>;
  doRequestsByBinding: Record<string, number>;
  /** Per SQL statement, per flow: where the reads and writes come from. */
  doStatements: Record<string, StatementCounts>;
  d1Statements: Record<string, StatementCounts>;
  d1RowsUnknown: number;
  /** $ per million flows at the median CPU per flow over the concurrency levels. */
  cost: CostBreakdown;
  /** How the cost grows with load: CPU per flow and $ per million flows at each concurrency level. */
  costByLevel: { concurrency: number; cpuMsPerFlow: number; usdPerMillionFlows: number }[];
  /** A month of this scenario alone on the Workers Paid plan ($5 and the inclusions). */
  monthly: MonthlyCost[];
}

export interface StatementCounts {
  calls: number;
  rowsRead: number;
  rowsWritten: number;
}

export interface Startup {
  target: TargetId;
  what: string;
  samplesMs: number[];
  medianMs: number;
}

export interface BenchResults {
  generatedAt: string;
  mode: "full" | "smoke";
  durationS: number;
  machine: {
    cores: number;
    loadBefore: { load1: number; load5: number };
    loadAfter: { load1: number; load5: number };
    node: string;
    platform: string;
    /** Where workerd kept D1, KV and Durable Object data. */
    storage: string;
  };
  versions: Record<string, string>;
  levels: number[];
  /** The revision measured beside this checkout (`--baseline`). */
  baseline?: { revision: string; commit: string; subject: string };
  /** Where the oidc-provider-sqlite database file was (and the filesystem it was on). */
  peerDatabase?: string;
  /** What each scenario's floor does. */
  floors: { scenario: ScenarioId; does: string }[];
  /** Runs per measurement; the best by throughput is reported. */
  repeats: number;
  bundles: { name: string; uploadKiB: number; gzipKiB: number }[];
  startup: Startup[];
  scenarios: { id: ScenarioId; title: string; unit: string; endpoints: readonly string[]; targets: TargetId[] }[];
  pending: { target: TargetId; scenario: ScenarioId; reason: string }[];
  measurements: Measurement[];
  phases: PhaseMeasurement[];
  /** edge-op's isolate under CIBA load, from V8's sampling profiler; plus the process CPU of that run. */
  profile?: ProfileSummary & { processCpuMsPerFlow: number };
  counted: CountedOps[];
  notes: string[];
}
