/**
 * Delivering one push message (RFC 8030 §5): an encrypted POST to the subscription's endpoint,
 * and what its answer means for the caller:
 *  - 201 (any 2xx): the push service accepted it — `delivered`;
 *  - 404 / 410: the subscription is gone (expired, unsubscribed; RFC 8030 §6.2, §7.3) — `gone`,
 *    delete it;
 *  - 429, 5xx, a network error or a timeout: try again later — `retry`, with the Retry-After the
 *    service asked for (RFC 8030 §8.4, RFC 9110 §10.2.3) when it gave one;
 *  - any other answer (400, 401/403 a VAPID problem, 413 too large, a redirect): `failed`,
 *    not retried, since the same message would fail the same way.
 */
import { utf8 } from "../crypto/encoding";
import { encryptPushMessage } from "./ece";
import { type PushSubscription, userAgentKeys } from "./subscription";
import { type VapidCredentials, vapidAuthorization } from "./vapid";

/** RFC 8030 §5.3. */
export type Urgency = "very-low" | "low" | "normal" | "high";

export interface PushOptions {
  vapid: VapidCredentials;
  /** RFC 8030 §5.2: seconds the push service keeps the message for an offline device. */
  ttl: number;
  urgency?: Urgency;
  /** RFC 8030 §5.4: a newer message with the same topic replaces an undelivered older one. */
  topic?: string;
}

/** The push message for `payload` (serialised as JSON), ready for fetch(). */
export async function buildPushRequest(
  subscription: PushSubscription,
  payload: unknown,
  options: PushOptions,
): Promise<Request> {
  if (!Number.isSafeInteger(options.ttl) || options.ttl < 0) throw new Error("TTL must be a non-negative integer");
  // RFC 8030 §5.4: at most 32 characters of the URL- and filename-safe base64 alphabet.
  if (options.topic !== undefined && !/^[A-Za-z0-9_-]{1,32}$/.test(options.topic)) {
    throw new Error("a topic is 1 to 32 base64url characters");
  }
  const endpoint = new URL(subscription.endpoint);
  const body = await encryptPushMessage(userAgentKeys(subscription), utf8.encode(JSON.stringify(payload)));
  const headers: Record<string, string> = {
    authorization: await vapidAuthorization(endpoint, options.vapid),
    "content-encoding": "aes128gcm",
    "content-type": "application/octet-stream",
    ttl: String(options.ttl),
  };
  if (options.urgency) headers.urgency = options.urgency;
  if (options.topic) headers.topic = options.topic;
  // A redirect is not part of RFC 8030; following one would send the message somewhere else.
  return new Request(endpoint, { method: "POST", headers, body, redirect: "manual" });
}

export type PushOutcome =
  | { kind: "delivered"; status: number }
  | { kind: "gone"; status: number }
  | { kind: "retry"; status?: number; retryAfter?: number; reason: string }
  | { kind: "failed"; status?: number; reason: string };

/** Retry-After as seconds from `now` (delta-seconds or an HTTP-date), or undefined. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d{1,10}$/.test(text)) return Number(text);
  // All three HTTP-date forms begin with a day name (RFC 9110 §5.6.7); Date.parse alone would
  // also read "-5" as a year.
  const date = /^[A-Z][a-z]{2}/.test(text) ? Date.parse(text) : Number.NaN;
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - now) / 1000));
}

export function classifyPushResponse(response: Response, now = Date.now()): PushOutcome {
  const { status } = response;
  if (status >= 200 && status < 300) return { kind: "delivered", status };
  if (status === 404 || status === 410) return { kind: "gone", status };
  if (status === 429 || status >= 500) {
    const retryAfter = parseRetryAfter(response.headers.get("retry-after"), now);
    return {
      kind: "retry",
      status,
      reason: `push service answered ${status}`,
      ...(retryAfter !== undefined && { retryAfter }),
    };
  }
  return { kind: "failed", status, reason: `push service answered ${status}` };
}

/**
 * Sends `payload` to one subscription and says what happened. Never throws: a message that
 * cannot be built (payload too large, bad VAPID settings) is `failed`, since retrying it from an
 * alarm would fail the same way.
 */
export async function sendPush(
  subscription: PushSubscription,
  payload: unknown,
  options: PushOptions & { timeoutMs?: number },
): Promise<PushOutcome> {
  let request: Request;
  try {
    request = await buildPushRequest(subscription, payload, options);
  } catch (error) {
    return { kind: "failed", reason: `message not built: ${error instanceof Error ? error.message : error}` };
  }
  let response: Response;
  try {
    response = await fetch(request, { signal: AbortSignal.timeout(options.timeoutMs ?? 10_000) });
  } catch (error) {
    return { kind: "retry", reason: `push service unreachable: ${error instanceof Error ? error.message : error}` };
  }
  await response.body?.cancel();
  return classifyPushResponse(response);
}
