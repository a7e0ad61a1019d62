/**
 * The single place where errors become HTTP responses. OAuth errors render as RFC 6749 §5.2
 * JSON with `Cache-Control: no-store`; anything unexpected is logged (its name and a bounded
 * message with anything token-like removed: a message can quote client input) and answered
 * with a bare `server_error`, so no stack trace ever reaches a client. A failure of storage
 * edge-op depends on (D1 failing or timing out, a Durable Object overloaded or reset) is not a
 * bug but an outage the client can wait out: 503 `temporarily_unavailable` with Retry-After
 * (the code RFC 6749 §4.1.2.1 defines for an overloaded server), logged as storage_unavailable.
 */
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { errorStatus, InvalidRequest, NotFound, OAuthError } from "../errors";
import { describeError, logger } from "../log";

export const NO_STORE = { "Cache-Control": "no-store", Pragma: "no-cache" } as const;

/** Seconds a client is asked to wait after a storage outage (RFC 9110 §10.2.3): D1 and Durable Object hiccups last seconds. */
const OUTAGE_RETRY_AFTER = 5;

export function renderError(error: unknown, c: Context): Response {
  const oauth = asOAuthError(error);
  if (!oauth && isStorageOutage(error)) {
    logger.error("storage_unavailable", { path: c.req.path.slice(0, 200), ...describeError(error) });
    return c.json(
      { error: "temporarily_unavailable", error_description: "storage is unavailable, try again shortly" },
      503,
      { ...NO_STORE, "Retry-After": String(OUTAGE_RETRY_AFTER) },
    );
  }
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

/**
 * D1 reports its failures (network lost, timeouts, an overloaded or reset database) as errors
 * whose message starts with "D1_" (D1_ERROR, D1_EXEC_ERROR …); Durable Object failures carry
 * `retryable` or `overloaded` set to true. Either is an outage, not a bug in edge-op.
 */
function isStorageOutage(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (/^D1_[A-Z_]*ERROR\b/.test(error.message)) return true;
  return ("retryable" in error && error.retryable === true) || ("overloaded" in error && error.overloaded === true);
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
