/**
 * Every notification edge-op sends out (the CIBA webhook to the user's notification service,
 * ping and push to a client's notification endpoint) goes through here, so all of them follow
 * one set of rules:
 * - POST, bounded by a timeout;
 * - redirects are never followed: a redirect could carry a bearer token, or tokens, to another
 *   host (checklist S3);
 * - the answer is classified: delivered; worth retrying (a network error or timeout, 408, 429,
 *   5xx); or final (a 3xx, or any other status: retrying cannot fix a wrong endpoint or a
 *   credential the receiver refuses);
 * - retries back off 2, 4, 8 … seconds after attempt 1, 2, 3 …, up to a number of attempts.
 * Callers keep the attempt count in their own state (a request's Durable Object record) and
 * schedule the retry themselves (its alarm).
 */

export interface OutboundPost {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  /** Which statuses mean delivered: CIBA ping/push wants 200 or 204, a webhook any 2xx. */
  delivered: (status: number) => boolean;
  /** A fuller reason for a final status, where the caller knows one (401 from a client: token refused). */
  explain?: (status: number) => string | undefined;
}

export type DeliveryResult =
  | { outcome: "delivered" }
  | { outcome: "retry"; reason: string }
  | { outcome: "give_up"; reason: string };

export async function postOnce(post: OutboundPost): Promise<DeliveryResult> {
  let response: Response;
  try {
    response = await fetch(post.url, {
      method: "POST",
      headers: post.headers,
      body: post.body,
      redirect: "manual",
      signal: AbortSignal.timeout(post.timeoutMs),
    });
  } catch (error) {
    return { outcome: "retry", reason: `unreachable: ${error instanceof Error ? error.message : String(error)}` };
  }
  await response.body?.cancel();
  return classify(response.status, post);
}

/** What a status means for a delivery (see the module comment). */
export function classify(status: number, post: Pick<OutboundPost, "delivered" | "explain">): DeliveryResult {
  if (post.delivered(status)) return { outcome: "delivered" };
  if (status >= 300 && status < 400)
    return { outcome: "give_up", reason: `answered ${status}; redirects are not followed` };
  if (status >= 500 || status === 408 || status === 429) return { outcome: "retry", reason: `answered ${status}` };
  return { outcome: "give_up", reason: post.explain?.(status) ?? `answered ${status}` };
}

/**
 * When to try again after attempt number `attempt` (1-based) failed in a way worth retrying:
 * 2^attempt seconds later; undefined when `maxAttempts` have been made.
 */
export function retryAt(attempt: number, maxAttempts: number, now = Date.now()): number | undefined {
  return attempt < maxAttempts ? now + 2 ** attempt * 1000 : undefined;
}
