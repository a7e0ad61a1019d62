/**
 * The load generator. A flow is an async generator that makes its requests one after another
 * through `io.request` and may `yield` a number of milliseconds to wait (the CIBA polling
 * interval). `concurrency` is the number of requests in flight, not of flows: a waiting flow
 * gives its slot to the next one, so the 1 s CIBA interval does not leave the server idle.
 * Waiting flows that are due go before new ones.
 *
 * Throughput is measured over busy time (some request in flight), so the last flows' wait for
 * their polling interval, with nothing else left to do, is not counted as server time.
 */
import { HttpClient, type HttpRequest, type HttpResponse } from "./http";

export type Flow = AsyncGenerator<number, void, undefined>;

/** A flow that never waits can be a plain async function. */
export type FlowLike = Flow | Promise<void>;

function isGenerator(flow: FlowLike): flow is Flow {
  return typeof (flow as Flow).next === "function";
}

export interface Expectation {
  status: number | readonly number[];
  /** OAuth `error` code the JSON body must carry (e.g. authorization_pending). */
  error?: string;
  /** JSON members the body must have. */
  has?: readonly string[];
}

export interface FlowIO {
  request(label: string, request: HttpRequest, expect: Expectation): Promise<HttpResponse>;
}

export class FlowError extends Error {
  override name = "FlowError";
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
  }
}

export interface LoadOptions {
  flows: number;
  concurrency: number;
  makeFlow: (index: number, io: FlowIO) => FlowLike;
}

export interface LoadResult {
  flows: number;
  concurrency: number;
  completed: number;
  failed: number;
  requests: number;
  wallMs: number;
  busyMs: number;
  latencies: Record<string, number[]>;
  errors: Record<string, number>;
  firstError?: string;
}

function jsonBody(response: HttpResponse): Record<string, unknown> | undefined {
  try {
    const parsed = JSON.parse(response.body) as unknown;
    return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function check(label: string, response: HttpResponse, expect: Expectation): void {
  const statuses = typeof expect.status === "number" ? [expect.status] : expect.status;
  const body = jsonBody(response);
  const code = typeof body?.error === "string" ? body.error : "";
  const problem =
    !statuses.includes(response.status) ||
    (expect.error !== undefined && code !== expect.error) ||
    (expect.has ?? []).some((member) => body?.[member] === undefined);
  if (problem) {
    throw new FlowError(
      `${label}: ${response.status}${code ? ` ${code}` : ""}`,
      `${label}: got ${response.status} ${response.body.slice(0, 200)}`,
    );
  }
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const { flows: total, concurrency } = options;
  const client = new HttpClient(concurrency);
  const latencies: Record<string, number[]> = {};
  const errors: Record<string, number> = {};
  let firstError: string | undefined;
  let inFlight = 0;
  let busySince = 0;
  let busyMs = 0;
  let requests = 0;

  const io: FlowIO = {
    async request(label, request, expect) {
      const start = performance.now();
      if (inFlight++ === 0) busySince = start;
      let response: HttpResponse;
      try {
        response = await client.send(request);
      } finally {
        const end = performance.now();
        if (--inFlight === 0) busyMs += end - busySince;
        requests += 1;
        latencies[label] ??= [];
        latencies[label].push(end - start);
      }
      check(label, response, expect);
      return response;
    },
  };

  const ready: Flow[] = [];
  const waiters: (() => void)[] = [];
  let started = 0;
  let completed = 0;
  let failed = 0;
  const settled = () => completed + failed;
  const wakeOne = () => waiters.shift()?.();
  const wakeAll = () => {
    while (waiters.length > 0) waiters.shift()?.();
  };

  async function slot(): Promise<void> {
    while (settled() < total) {
      let flow: FlowLike | undefined = ready.shift();
      if (!flow && started < total) flow = options.makeFlow(started++, io);
      if (!flow) {
        await new Promise<void>((resolve) => waiters.push(resolve));
        continue;
      }
      try {
        const step = isGenerator(flow) ? await flow.next() : await flow.then(() => ({ done: true as const }));
        if (step.done) {
          completed += 1;
        } else if (isGenerator(flow)) {
          const parked = flow;
          setTimeout(() => {
            ready.push(parked);
            wakeOne();
          }, step.value);
          continue;
        }
      } catch (error) {
        failed += 1;
        const key = error instanceof FlowError ? error.key : `exception: ${(error as Error).message}`;
        errors[key] = (errors[key] ?? 0) + 1;
        firstError ??= (error as Error).message;
      }
      if (settled() === total) wakeAll();
    }
  }

  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, () => slot()));
  const wallMs = performance.now() - t0;
  client.close();
  return {
    flows: total,
    concurrency,
    completed,
    failed,
    requests,
    wallMs,
    busyMs,
    latencies,
    errors,
    firstError,
  };
}
