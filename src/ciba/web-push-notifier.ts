/**
 * The `webpush` notifier (issue 16): each new backchannel request is pushed, encrypted
 * (RFC 8291) and signed for with VAPID (RFC 8292), to every device the user subscribed
 * (POST /api/push/subscriptions; the subscriptions live sealed in the user's Durable Object).
 * It runs from the request's alarm like every notifier:
 *  - 404/410 from the push service: that subscription is gone (RFC 8030 §7.3) and is removed,
 *    only if it is still the copy that was pushed to (the browser may have subscribed again);
 *  - 429/5xx, a timeout or a network error on any device: RetryableNotificationError, so the
 *    alarm tries again with backoff. Before that, the devices done with the notice (delivered,
 *    or refused for good) are noted on the request's entry in the user's object (one row, only
 *    on this path), and the retry pushes only to the others. Should that note be missing (the
 *    request not listed there), the retry reaches every device again: the notice's Topic
 *    replaces an undelivered copy at the push service and the service worker shows it under the
 *    request's tag, so a device that had it still shows it once;
 *  - anything else (a refused VAPID signature, a 400) is logged and not retried.
 * Only subscription ids and outcomes are logged: an endpoint is a capability URL.
 */
import type { BackchannelAuthenticationUserNotificationService, BackchannelUserLoginRequest } from "../context";
import { logger } from "../log";
import { cibaPushNotice } from "../push/ciba-notice";
import { type Device, pushToDevices } from "../push/fan-out";
import { openSubscription } from "../push/sealed-subscription";
import type { EndpointPolicy } from "../push/subscription";
import type { VapidCredentials } from "../push/vapid";
import type { StoredSubscription } from "../users/user-object";
import { RetryableNotificationError } from "./notification-errors";

/** The part of the user's object this notifier uses. */
export interface UserDevices {
  /** With a request's internal id: the subscriptions its notice has still to reach. */
  subscriptions(pendingFor?: string): Promise<StoredSubscription[]>;
  removeSubscription(id: string, sealed?: string): Promise<boolean>;
  recordPushed(internalId: string, subscriptionIds: string[]): Promise<boolean>;
}

export interface WebPushNotifierOptions {
  vapid: VapidCredentials;
  /** DATA_ENCRYPTION_KEY, which seals the stored subscriptions. */
  dataKey: string | undefined;
  policy: EndpointPolicy;
  timeoutMs: number;
  /** The user's object, by subject. */
  devicesOf: (subject: string) => Promise<UserDevices>;
}

export class WebPushNotificationService implements BackchannelAuthenticationUserNotificationService {
  constructor(private readonly options: WebPushNotifierOptions) {}

  async sendLoginRequest(request: BackchannelUserLoginRequest): Promise<void> {
    const { vapid, dataKey, policy, timeoutMs, devicesOf } = this.options;
    const built = cibaPushNotice({
      internalId: request.internalId,
      clientName: request.clientName,
      bindingMessage: request.bindingMessage,
      requestedScopes: request.requestedScopes,
      authorizationDetailsText: request.authorizationDetailsText,
      expiresAt: request.expiresAt,
      approvalUrl: request.approvalUrl,
    });
    // Expired before the alarm ran: nothing the user could still approve.
    if (!built) return;
    const user = await devicesOf(request.subject);
    const stored = await user.subscriptions(request.internalId);
    const devices: Device[] = [];
    for (const entry of stored) {
      // A copy that no longer opens (another key, a loopback endpoint outside development) is skipped.
      const subscription = await openSubscription(dataKey, request.subject, entry, policy);
      if (subscription) devices.push({ id: entry.id, subscription });
    }
    if (devices.length === 0) return;
    const result = await pushToDevices(devices, built.notice, { vapid, ...built.options, timeoutMs });
    for (const id of result.gone) {
      await user.removeSubscription(id, stored.find((s) => s.id === id)?.sealed);
    }
    logger.info("web_push_sent", {
      internal_id: request.internalId,
      delivered: result.delivered.length,
      gone: result.gone.length,
      failed: result.failed.length,
      retry: result.retry.length,
    });
    for (const failure of result.failed) {
      logger.warn("web_push_failed", {
        internal_id: request.internalId,
        subscription: failure.id,
        reason: failure.reason,
      });
    }
    if (result.retry.length > 0) {
      const done = [...result.delivered, ...result.failed.map((failure) => failure.id)];
      if (done.length > 0) await user.recordPushed(request.internalId, done);
      throw new RetryableNotificationError(`push service busy or unreachable for ${result.retry.length} device(s)`);
    }
  }
}
