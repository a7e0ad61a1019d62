/**
 * The Worker the benchmark times: edge-op's own app and Durable Object classes, unchanged, plus
 * the bench-only completion route (bench-routes.ts). Every other request goes straight to the
 * product's Hono app.
 */

import type { Bindings } from "../../src/env";
import app from "../../src/index";
import { BENCH_PREFIX, benchRoute } from "./bench-routes";

export * from "../../src/index";

export default {
  fetch(request: Request, env: Bindings, ctx: ExecutionContext): Response | Promise<Response> {
    if (request.url.includes(BENCH_PREFIX)) return benchRoute(request, env);
    return app.fetch(request, env, ctx);
  },
};
