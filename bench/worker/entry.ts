/**
 * The Worker the benchmark times: edge-op's own Worker (src/worker.ts) and its Durable Object
 * classes, unchanged, plus the bench-only completion route (bench-routes.ts). Every other
 * request goes straight to the product's provider.
 */

import type { Bindings } from "../../src/env";
import worker from "../../src/worker";
import { BENCH_PREFIX, benchRoute } from "./bench-routes";

export * from "../../src/worker";

export default {
  fetch(request: Request, env: Bindings, ctx: ExecutionContext): Response | Promise<Response> {
    if (request.url.includes(BENCH_PREFIX)) return benchRoute(request, env);
    return worker.fetch(request, env, ctx);
  },
};
