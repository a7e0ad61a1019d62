/**
 * The Worker of the benchmark's counting pass: the same as entry.ts, with every platform
 * operation counted (instrument.ts). Never timed.
 */
import type { Bindings } from "../../src/env";
import worker, * as product from "../../src/worker";
import { BENCH_PREFIX, benchRoute } from "./bench-routes";
import {
  COUNTERS_PATH,
  counterRoute,
  countWorkerRequest,
  instrumentDurableObjectClasses,
  instrumentEnv,
} from "./instrument";

export * from "../../src/worker";

instrumentDurableObjectClasses(product);

export default {
  fetch(request: Request, env: Bindings, ctx: ExecutionContext): Response | Promise<Response> {
    if (request.url.includes(COUNTERS_PATH)) return counterRoute(request);
    countWorkerRequest();
    const counted = instrumentEnv(env);
    if (request.url.includes(BENCH_PREFIX)) return benchRoute(request, counted);
    return worker.fetch(request, counted, ctx);
  },
};
