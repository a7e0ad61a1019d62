/**
 * Cloudflare's published Workers Paid-plan prices, per million units beyond the monthly
 * inclusions (PRICES: the marginal cost of a million more flows), and the monthly inclusions and
 * the $5 subscription (INCLUDED, PLAN_USD_PER_MONTH: what a month of N flows costs). Read on
 * PRICES_READ_ON from the pricing pages below (their source in the cloudflare-docs repository):
 *
 * - "Pricing · Cloudflare Workers docs" (workers/platform/pricing): Workers Paid $5/month;
 *   requests 10 million included, then $0.30 per million; CPU time 30 million ms included, then
 *   $0.02 per million ms.
 * - "Pricing · Cloudflare Durable Objects docs" (durable-objects/platform/pricing): requests
 *   (HTTP, RPC sessions: every stub method call, alarm invocations) 1 million included, then $0.15
 *   per million; duration 400,000 GB-s included, then $12.50 per million GB-s; SQLite storage rows
 *   read 25 billion included, then $0.001 per million; rows written 50 million included, then
 *   $1.00 per million; "setAlarm() counts as one row written".
 * - "Pricing · Cloudflare Workers KV docs" (kv/platform/pricing): reads 10 million included, then
 *   $0.50 per million; writes, deletes and lists 1 million each included, then $5.00 per million.
 * - "Pricing · Cloudflare D1 docs" (d1/platform/pricing): rows read 25 billion included, then
 *   $0.001 per million; rows written 50 million included, then $1.00 per million.
 *
 * Storage (GB-month) is left out: the flows measured here leave nothing behind once their
 * one-time things are cleaned up. Update the numbers and the date together.
 */

export const PRICES_READ_ON = "2026-12-01";

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

/** What each priced item is, for the report. */
export const PRICE_LABELS: Record<keyof typeof PRICES, string> = {
  workerRequests: "Worker requests",
  workerCpuMs: "Worker CPU",
  doRequests: "DO requests",
  doGbSeconds: "DO duration",
  doRowsRead: "DO rows read",
  doRowsWritten: "DO rows written",
  kvReads: "KV reads",
  kvWrites: "KV writes",
  kvDeletes: "KV deletes",
  kvLists: "KV lists",
  d1RowsRead: "D1 rows read",
  d1RowsWritten: "D1 rows written",
};

/** The Workers Paid subscription, USD per month; it includes INCLUDED below. */
export const PLAN_USD_PER_MONTH = 5;

/** Monthly inclusions of the Workers Paid plan, in units (the same keys as PRICES). */
export const INCLUDED: Record<keyof typeof PRICES, number> = {
  workerRequests: 10e6,
  workerCpuMs: 30e6,
  doRequests: 1e6,
  doGbSeconds: 400_000,
  doRowsRead: 25e9,
  doRowsWritten: 50e6,
  kvReads: 10e6,
  kvWrites: 1e6,
  kvDeletes: 1e6,
  kvLists: 1e6,
  d1RowsRead: 25e9,
  d1RowsWritten: 50e6,
};

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
  /** deleteAll() calls (not priced: the pricing pages do not say how the rows it removes are billed). */
  doDeleteAll: number;
  /** The rows those deleteAll() calls removed (the objects' tables and key-value entries), not priced. */
  doDeleteAllRows: number;
  kvReads: number;
  kvWrites: number;
  kvDeletes: number;
  kvLists: number;
  d1Queries: number;
  d1RowsRead: number;
  d1RowsWritten: number;
  /** Billed rows written, all kinds: DO SQLite rows + setAlarm calls + D1 rows. */
  billedRowsWritten: number;
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

/** Units of each priced item for one flow (the same keys as PRICES). */
export function unitsPerFlow(ops: OpsPerFlow, cpuMsPerFlow: number): Record<keyof typeof PRICES, number> {
  return {
    workerRequests: ops.workerRequests,
    workerCpuMs: cpuMsPerFlow,
    doRequests: ops.doRequests + ops.doAlarms,
    doGbSeconds: (ops.doActiveMs / 1000) * DO_GB,
    doRowsRead: ops.doRowsRead,
    doRowsWritten: ops.doRowsWritten + ops.doSetAlarm,
    kvReads: ops.kvReads,
    kvWrites: ops.kvWrites,
    kvDeletes: ops.kvDeletes,
    kvLists: ops.kvLists,
    d1RowsRead: ops.d1RowsRead,
    d1RowsWritten: ops.d1RowsWritten,
  };
}

export interface MonthlyCost {
  flowsPerMonth: number;
  /** The bill: the $5 subscription plus everything beyond the inclusions. */
  usd: number;
  /** The item that costs the most beyond the inclusions (undefined when all fits in them). */
  largestItem?: { item: keyof typeof PRICES; usd: number };
}

/**
 * The Workers Paid bill for a month of `flowsPerMonth` flows and nothing else on the account:
 * $5, plus each item's units beyond its monthly inclusion at its price.
 */
export function monthlyCost(ops: OpsPerFlow, cpuMsPerFlow: number, flowsPerMonth: number): MonthlyCost {
  const units = unitsPerFlow(ops, cpuMsPerFlow);
  let usd = PLAN_USD_PER_MONTH;
  let largestItem: MonthlyCost["largestItem"];
  for (const item of Object.keys(PRICES) as (keyof typeof PRICES)[]) {
    const beyond = Math.max(0, units[item] * flowsPerMonth - INCLUDED[item]);
    const cost = (beyond / 1e6) * PRICES[item];
    usd += cost;
    if (cost > 0 && (!largestItem || cost > largestItem.usd)) largestItem = { item, usd: cost };
  }
  return { flowsPerMonth, usd, largestItem };
}
