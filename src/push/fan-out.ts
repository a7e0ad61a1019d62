/**
 * One notice to every device of a user: the step the CIBA request's alarm runs (issue 16). It
 * sends to each subscription in parallel and sorts the answers (src/push/send.ts): delivered,
 * gone (to remove from the user's object), failed, and those to retry, with the longest
 * Retry-After any of them asked for. The alarm then retries, and the notifier
 * (src/ciba/web-push-notifier.ts) sends again only to the devices not done yet (it notes the
 * others in the user's object), so a device that already has the notice does not get it twice
 * (and the notice's Topic makes a duplicate replace, not add, at the push service).
 */
import { type PushOptions, sendPush } from "./send";
import type { PushSubscription } from "./subscription";

export interface Device {
  /** The stored subscription's id (src/push/sealed-subscription.ts). */
  id: string;
  subscription: PushSubscription;
}

export interface FanOutResult {
  delivered: string[];
  gone: string[];
  failed: { id: string; reason: string }[];
  retry: string[];
  /** Seconds: the longest Retry-After among `retry`, if any gave one. */
  retryAfter?: number;
}

export async function pushToDevices(
  devices: readonly Device[],
  payload: unknown,
  options: PushOptions & { timeoutMs?: number },
  only?: readonly string[],
): Promise<FanOutResult> {
  const targets = only ? devices.filter((d) => only.includes(d.id)) : devices;
  const outcomes = await Promise.all(targets.map((d) => sendPush(d.subscription, payload, options)));
  const result: FanOutResult = { delivered: [], gone: [], failed: [], retry: [] };
  outcomes.forEach((outcome, i) => {
    const id = targets[i]?.id ?? "";
    if (outcome.kind === "delivered") result.delivered.push(id);
    else if (outcome.kind === "gone") result.gone.push(id);
    else if (outcome.kind === "failed") result.failed.push({ id, reason: outcome.reason });
    else {
      result.retry.push(id);
      if (outcome.retryAfter !== undefined) result.retryAfter = Math.max(result.retryAfter ?? 0, outcome.retryAfter);
    }
  });
  return result;
}
