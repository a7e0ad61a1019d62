/**
 * The Hono environment type shared by every route. `c.env` is whatever the Worker was given;
 * handlers read the provider's view of it, the per-request context, from `c.var.ctx` (set by
 * the provider's first middleware, src/provider/app.ts).
 */
import type { RequestContext } from "../context";

export interface AppEnv {
  Bindings: object;
  Variables: {
    ctx: RequestContext;
  };
}
