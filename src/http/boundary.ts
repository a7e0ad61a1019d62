/**
 * The single place where errors become HTTP responses. OAuth errors render as RFC 6749 §5.2
 * JSON with `Cache-Control: no-store`; anything unexpected is logged (its name and a bounded
 * message with anything token-like removed: a message can quote client input) and answered
 * with a bare `server_error`, so no stack trace ever reaches a client.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { errorStatus, InvalidRequest, NotFound, OAuthError } from "../errors";
import { describeError, logger } from "../log";

export const NO_STORE = { "Cache-Control": "no-store", Pragma: "no-cache" } as const;

export function renderError(error: unknown, c: Context): Response {
  const oauth = asOAuthError(error);
  if (!oauth) {
    logger.error("unhandled_error", { path: c.req.path.slice(0, 200), ...describeError(error) });
    return c.json({ error: "server_error", error_description: "internal error" }, 500, { ...NO_STORE });
  }
  // An error without a code carries no error information at all (RFC 6750 §3.1, BearerTokenRequired).
  if (!oauth.code) return c.body(null, oauth.status, { ...NO_STORE, ...oauth.headers });
  const body: { error: string; error_description?: string } = { error: oauth.code };
  if (oauth.description) body.error_description = oauth.description;
  return c.json(body, oauth.status, { ...NO_STORE, ...oauth.headers });
}

export function renderNotFound(c: Context): Response {
  return renderError(new NotFound(c.req.path), c);
}

/** Hono and the runtime throw a few errors of their own for bad input; map them to 4xx. */
function asOAuthError(error: unknown): OAuthError | undefined {
  if (error instanceof OAuthError) return error;
  if (error instanceof HTTPException && error.status < 500) {
    return new InvalidRequest(error.message || "malformed request", errorStatus(error.status));
  }
  if (error instanceof URIError) return new InvalidRequest("malformed percent-encoding in the request");
  return undefined;
}
