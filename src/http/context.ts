/**
 * What a request handler needs besides its input: the bindings and the parsed settings.
 * Handlers receive this instead of the Hono context, so the protocol code can be called (and
 * tested) without HTTP.
 */
import type { Context } from "hono";
import { loadSettings, type Settings } from "../config";
import type { Bindings } from "../env";
import type { AppEnv } from "./app-env";

export interface RequestContext {
  env: Bindings;
  settings: Settings;
  /** The incoming request, for headers (Authorization, DPoP, cf.tlsClientAuth). */
  request: Request;
}

export function requestContext(c: Context<AppEnv>): RequestContext {
  return { env: c.env, settings: loadSettings(c.env), request: c.req.raw };
}
