/** Calls the Worker under test through its real fetch handler. */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import app from "../worker";

export const ISSUER = "http://localhost:8787";

/** Wrangler vars to run the Worker with, over those of wrangler.toml (see docs/configuration.md). */
export type Vars = Partial<Record<string, string>>;

/**
 * Calls the Worker; with `vars`, calls the same code with the same bindings as a deployment
 * with those settings would run it (settings are read per `env` object, so nothing leaks).
 */
export async function call(path: string, init?: RequestInit, vars: Vars = {}): Promise<Response> {
  const request = new Request(`${ISSUER}${path}`, init);
  if (Object.keys(vars).length === 0) return exports.default.fetch(request);
  const ctx = createExecutionContext();
  const response = await app.fetch(request, { ...env, ...vars }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

export function postForm(
  path: string,
  params: Record<string, string> | URLSearchParams | string,
  headers: Record<string, string> = {},
): Promise<Response> {
  const body = typeof params === "string" ? params : new URLSearchParams(params).toString();
  return call(path, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body,
  });
}

export function basic(clientId: string, secret: string): Record<string, string> {
  const encode = (s: string) => encodeURIComponent(s).replace(/%20/g, "+");
  return { authorization: `Basic ${btoa(`${encode(clientId)}:${encode(secret)}`)}` };
}

export interface OAuthErrorBody {
  error: string;
  error_description?: string;
}

/** Asserts nothing itself: returns status and parsed JSON for the test to check. */
export async function jsonOf<T = Record<string, unknown>>(response: Response): Promise<{ status: number; body: T }> {
  return { status: response.status, body: (await response.json()) as T };
}

/** The provider's published keys, fetched from /jwks through the Worker. */
export async function publishedKeys() {
  const { createLocalJWKSet } = await import("jose");
  const jwks = (await (await call("/jwks")).json()) as Parameters<typeof createLocalJWKSet>[0];
  return createLocalJWKSet(jwks);
}
