/**
 * Cloudflare's published Workers Paid-plan prices, per million units beyond the monthly
 * inclusions (the inclusions and the $5/month minimum are left out: this is the marginal cost of
 * a million more flows). Read on PRICES_READ_ON from the pricing pages below (their source in
 * the cloudflare-docs repository). Update the numbers and the date together.
 */

export const PRICES_READ_ON = "2026-11-22";

export const PRICE_SOURCES = [
  { product: "Workers (Standard)", url: "https://developers.cloudflare.com/workers/platform/pricing/" },
  { product: "Durable Objects", url: "https://developers.cloudflare.com/durable-objects/platform/pricing/" },
  { product: "Workers KV", url: "https://developers.cloudflare.com/kv/platform/pricing/" },
  { product: "D1", url: "https://developers.cloudflare.com/d1/platform/pricing/" },
] as const;

/** USD per million units. */
export const PRICES = {
  workerRequests: 0.3,
  workerCpuMs: 0.02,
  /** HTTP requests, RPC sessions (every stub method call) and alarm invocations. */
  doRequests: 0.15,
  doGbSeconds: 12.5,
  doRowsRead: 0.001,
  /** Each setAlarm() is billed as one row written; deletes count as rows written. */
  doRowsWritten: 1.0,
  kvReads: 0.5,
  kvWrites: 5.0,
  kvDeletes: 5.0,
  kvLists: 5.0,
  d1RowsRead: 0.001,
  d1RowsWritten: 1.0,
} as const;

/** Durable Object duration is billed for 128 MB while active: "seconds × 128 MB / 1 GB". */
export const DO_GB = 0.128;

/** Platform operations of one flow, as counted in the counting pass. */
export interface OpsPerFlow {
  workerRequests: number;
  doRequests: number;
  doAlarms: number;
  doActiveMs: number;
  doRowsRead: number;
  doRowsWritten: number;
  doSetAlarm: number;
  kvReads: number;
  kvWrites: number;
  kvDeletes: number;
  kvLists: number;
  d1Queries: number;
  d1RowsRead: number;
  d1RowsWritten: number;
}

export interface CostLine {
  item: string;
  perFlow: number;
  unitPricePerMillion: number;
  /** USD per million flows. */
  usdPerMillionFlows: number;
}

export interface CostBreakdown {
  lines: CostLine[];
  /** Without Workers CPU time and Durable Object duration: operations only. */
  operationsUsd: number;
  totalUsd: number;
}

/**
 * Dollars per million flows. `cpuMsPerFlow` is the runtime process's CPU per flow measured
 * locally: an upper bound of billed Workers CPU (it includes workerd's local storage
 * simulators and, for DOs, work billed as duration instead).
 */
export function costPerMillionFlows(ops: OpsPerFlow, cpuMsPerFlow: number): CostBreakdown {
  const line = (item: string, perFlow: number, unitPricePerMillion: number): CostLine => ({
    item,
    perFlow,
    unitPricePerMillion,
    usdPerMillionFlows: perFlow * unitPricePerMillion,
  });
  const operations = [
    line("Workers requests", ops.workerRequests, PRICES.workerRequests),
    line("Durable Object requests (RPC + alarms)", ops.doRequests + ops.doAlarms, PRICES.doRequests),
    line("Durable Object SQLite rows read", ops.doRowsRead, PRICES.doRowsRead),
    line(
      "Durable Object SQLite rows written (incl. setAlarm)",
      ops.doRowsWritten + ops.doSetAlarm,
      PRICES.doRowsWritten,
    ),
    line("KV reads", ops.kvReads, PRICES.kvReads),
    line("KV writes", ops.kvWrites, PRICES.kvWrites),
    line("KV deletes", ops.kvDeletes, PRICES.kvDeletes),
    line("KV lists", ops.kvLists, PRICES.kvLists),
    line("D1 rows read", ops.d1RowsRead, PRICES.d1RowsRead),
    line("D1 rows written", ops.d1RowsWritten, PRICES.d1RowsWritten),
  ];
  const compute = [
    line("Workers CPU ms (local upper bound)", cpuMsPerFlow, PRICES.workerCpuMs),
    line("Durable Object GB-s (estimate)", (ops.doActiveMs / 1000) * DO_GB, PRICES.doGbSeconds),
  ];
  const sum = (lines: CostLine[]) => lines.reduce((total, l) => total + l.usdPerMillionFlows, 0);
  return {
    lines: [...operations, ...compute],
    operationsUsd: sum(operations),
    totalUsd: sum(operations) + sum(compute),
  };
}
