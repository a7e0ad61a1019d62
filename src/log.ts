/**
 * edge-op's log: one JSON object per line with an `event` field (docs/logging.md). Every event
 * is declared below with its level and its fields, so a line cannot carry a field nobody
 * reviewed: docs/logging.md's rule is that none holds a secret, handle or token. Lines go to
 * console.log (info), console.warn or console.error, which Workers Logs keeps.
 */

interface DeliveryAttempt {
  internal_id: string;
  client_id: string;
  attempt: number;
}

interface ClientDeliveryAttempt extends DeliveryAttempt {
  mode: string;
}

/** Each event's fields. */
export interface LogEvents {
  ciba_request_created: { client_id: string; internal_id: string };
  ciba_tokens_issued: { internal_id: string; client_id: string; delivery?: "push" };
  /** The `log` notifier's notice: what the user is asked to approve, and where. */
  ciba_login_request: {
    subject: string;
    client_id: string;
    binding_message?: string;
    /** RFC 9396 §3: each authorization detail as the sentence the user approves. */
    authorization_details?: string[];
    approval_url: string;
  };
  ciba_notification_retry: DeliveryAttempt & { reason: string; retry_at: number };
  ciba_notification_failed: DeliveryAttempt & { reason: string };
  ciba_push_tokens_failed: { internal_id: string; client_id: string; reason: string };
  ciba_client_notification_sent: ClientDeliveryAttempt;
  ciba_client_notification_retry: ClientDeliveryAttempt & { reason: string; retry_at: number };
  ciba_client_notification_failed: ClientDeliveryAttempt & { reason: string };
  /** A failed delivery could not be kept for the console (src/outbound/delivery-failures.ts). */
  delivery_failure_not_recorded: { internal_id: string; kind: string; reason: string };
  signin_failed: { known_user: boolean };
  /** Back-Channel Logout §2.5: a logout token's delivery to one client. */
  backchannel_logout_sent: { client_id: string; attempt: number };
  backchannel_logout_retry: { client_id: string; attempt: number; reason: string; retry_at: number };
  backchannel_logout_failed: { client_id: string; attempt: number; reason: string };
  /** A browser session ended: how many grants were revoked and clients notified. */
  session_logged_out: { revoked: number; kept: number; notified: number };
  /** The `webpush` notifier's outcome for one request: counts of devices, never an endpoint. */
  web_push_sent: { internal_id: string; delivered: number; gone: number; failed: number; retry: number };
  web_push_failed: { internal_id: string; subscription: string; reason: string };
  authorization_code_reuse: { client_id: string };
  refresh_token_reuse: { client_id: string; family_id: string; sub?: string };
  grant_revoked: { grant_id: string; reason: string };
  client_secret_unreadable: { client_id: string };
  /** A jwks_uri that names a non-public address (or is not https) was not fetched: why, never the URL. */
  jwks_uri_refused: { reason: string };
  /** An integrator's authorization details validator or renderer threw (createProvider's option). */
  authorization_details_type_failed: { type: string; step: "validate" | "render"; error: string; message: string };
  /** A record read from storage did not have the shape edge-op writes: treated as absent. */
  storage_record_malformed: { store: string; problem: string };
  /** D1 or a Durable Object failed or timed out: answered 503 with Retry-After, not a 500. */
  storage_unavailable: { path: string; error: string; message: string };
  /** A bug: what was thrown, by name, and a bounded message with anything token-like removed. */
  unhandled_error: { path: string; error: string; message: string };
}

export type LogEvent = keyof LogEvents;
type Level = "info" | "warn" | "error";

const LEVELS = {
  ciba_request_created: "info",
  ciba_tokens_issued: "info",
  ciba_login_request: "info",
  ciba_notification_retry: "warn",
  ciba_notification_failed: "error",
  ciba_push_tokens_failed: "error",
  ciba_client_notification_sent: "info",
  ciba_client_notification_retry: "warn",
  ciba_client_notification_failed: "error",
  delivery_failure_not_recorded: "warn",
  signin_failed: "info",
  backchannel_logout_sent: "info",
  backchannel_logout_retry: "warn",
  backchannel_logout_failed: "error",
  session_logged_out: "info",
  web_push_sent: "info",
  web_push_failed: "warn",
  authorization_code_reuse: "warn",
  refresh_token_reuse: "warn",
  grant_revoked: "warn",
  client_secret_unreadable: "error",
  jwks_uri_refused: "warn",
  authorization_details_type_failed: "error",
  storage_record_malformed: "error",
  storage_unavailable: "error",
  unhandled_error: "error",
} as const satisfies Record<LogEvent, Level>;

type EventsAt<L extends Level> = { [E in LogEvent]: (typeof LEVELS)[E] extends L ? E : never }[LogEvent];

function write(event: LogEvent, fields: object): void {
  const line = JSON.stringify({ event, ...fields });
  const level: Level = LEVELS[event];
  if (level === "info") console.log(line);
  else if (level === "warn") console.warn(line);
  else console.error(line);
}

export const logger = {
  info<E extends EventsAt<"info">>(event: E, fields: LogEvents[E]): void {
    write(event, fields);
  },
  warn<E extends EventsAt<"warn">>(event: E, fields: LogEvents[E]): void {
    write(event, fields);
  },
  error<E extends EventsAt<"error">>(event: E, fields: LogEvents[E]): void {
    write(event, fields);
  },
};

/** Longest message kept from an error. */
const MAX_MESSAGE = 200;
/** Runs of token characters long enough to be a handle, a token or a secret (≥ 20). */
const TOKEN_LIKE = /[A-Za-z0-9+/=_.~-]{20,}/g;

/**
 * What may be logged of something thrown: its name, and its message cut to 200 characters
 * with control characters and every token-like run (20 or more base64url, base64 or JWT
 * characters) replaced, since a message can quote client input (a parser's "unexpected token"
 * quoting a request body, a URL with a handle in it).
 */
export function describeError(error: unknown): { error: string; message: string } {
  const name = error instanceof Error ? error.name : typeof error;
  const raw = error instanceof Error ? error.message : String(error);
  return { error: sanitize(name).slice(0, 64), message: sanitize(raw).slice(0, MAX_MESSAGE) };
}

function sanitize(text: string): string {
  return text.replace(/\p{Cc}+/gu, " ").replace(TOKEN_LIKE, "[redacted]");
}
