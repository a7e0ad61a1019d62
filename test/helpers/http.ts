/** Calls the Worker under test through its real fetch handler. */
import { exports } from "cloudflare:workers";

export const ISSUER = "http://localhost:8787";

export function call(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(`${ISSUER}${path}`, init));
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
