/**
 * The request context of a Hono request: built once per request by the provider's middleware
 * (src/provider/app.ts), from the provider's options and the Worker's env.
 */
import type { Context } from "hono";
import type { RequestContext } from "../context";
import type { AppEnv } from "./app-env";

export function requestContext(c: Context<AppEnv>): RequestContext {
  return c.var.ctx;
}
