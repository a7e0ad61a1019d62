/**
 * One back-channel logout delivery (OpenID Back-Channel Logout 1.0 §2.5): the logout token for
 * one client, POSTed as the `logout_token` form parameter to its `backchannel_logout_uri`, and
 * retried from this object's alarm like the CIBA client notifications (src/outbound/deliver.ts:
 * a network error, timeout, 408, 429 or 5xx is retried with backoff, up to
 * BACKCHANNEL_LOGOUT_MAX_ATTEMPTS; a 3xx or another 4xx ends it). Addressed by name
 * `bcl:<sid>:<client_id>`. The record (the token included: it can only log that session out,
 * and lives 120 s) is deleted as soon as the delivery is over.
 */
import { DurableObject } from "cloudflare:workers";
import { notificationEndpointProblem } from "../clients/metadata";
import { logger } from "../log";
import { postOnce, retryAt } from "../outbound/deliver";
import { bool, int, object, type Parser, readStored, str } from "../parse";

export interface LogoutDeliveryInput {
  clientId: string;
  url: string;
  logoutToken: string;
  maxAttempts: number;
  timeoutMs: number;
  /** ALLOW_HTTP_NOTIFICATION_ENDPOINTS, checked again before each attempt. */
  allowHttp: boolean;
}

interface DeliveryRecord extends LogoutDeliveryInput {
  /** Attempts made so far. */
  attempts: number;
}

const deliveryRecord: Parser<DeliveryRecord> = object<DeliveryRecord>({
  clientId: str,
  url: str,
  logoutToken: str,
  maxAttempts: int,
  timeoutMs: int,
  allowHttp: bool,
  attempts: int,
});

const KEY = "delivery";

/** §2.8: the RP answers 200 (some frameworks send 204 for an empty body). */
const delivered = (status: number) => status === 200 || status === 204;

export class LogoutDelivery extends DurableObject<object> {
  /** Stores the delivery and wakes the alarm at once, so sign-out never waits for a client. */
  async enqueue(input: LogoutDeliveryInput): Promise<void> {
    const record: DeliveryRecord = { ...input, attempts: 0 };
    await this.ctx.storage.put(KEY, record);
    await this.ctx.storage.setAlarm(Date.now());
  }

  override async alarm(): Promise<void> {
    const stored = await this.ctx.storage.get(KEY);
    const record = stored === undefined ? undefined : readStored("logout_deliveries", deliveryRecord, stored);
    if (!record) {
      await this.ctx.storage.deleteAll();
      return;
    }
    const attempt = record.attempts + 1;
    const fields = { client_id: record.clientId, attempt };
    // Checked again: a registration edited by hand must not send the token somewhere it should not go.
    const problem = notificationEndpointProblem(record.url, record.allowHttp);
    const result = problem
      ? { outcome: "give_up" as const, reason: `backchannel_logout_uri ${problem}` }
      : await postOnce({
          url: record.url,
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ logout_token: record.logoutToken }).toString(),
          timeoutMs: record.timeoutMs,
          delivered,
        });
    if (result.outcome === "delivered") {
      logger.info("backchannel_logout_sent", fields);
      await this.ctx.storage.deleteAll();
      return;
    }
    const next = result.outcome === "retry" ? retryAt(attempt, record.maxAttempts) : undefined;
    if (next === undefined) {
      logger.error("backchannel_logout_failed", { ...fields, reason: result.reason });
      await this.ctx.storage.deleteAll();
      return;
    }
    logger.warn("backchannel_logout_retry", { ...fields, reason: result.reason, retry_at: next });
    await this.ctx.storage.put(KEY, { ...record, attempts: attempt });
    await this.ctx.storage.setAlarm(next);
  }
}
