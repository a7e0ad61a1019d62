/**
 * BackchannelAuthenticationUserNotificationService: tells the user that a client is asking
 * them to approve something. Three built-ins, CIBA_NOTIFICATION lists which run (`webpush,log`):
 *  - `log`: writes the approval URL to the Worker's log (local development);
 *  - `webhook`: POSTs a signed JSON notice to CIBA_WEBHOOK_URL, for a push-notification or SMS
 *    service to relay. Signature header: `Edge-Op-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
 *    "<t>.<body>" with CIBA_WEBHOOK_SECRET>`;
 *  - `webpush`: Web Push to every device the user subscribed (./web-push-notifier.ts).
 * Integrators replace it with their own (createProvider's `services.notificationService`). It
 * runs in the request's Durable Object once the request is stored: a thrown
 * RetryableNotificationError is retried from its alarm with backoff, anything else fails the
 * notification at once. Either way the failure is logged and the
 * request shows it.
 */
import type { Settings } from "../config";
import type {
  BackchannelAuthenticationUserNotificationService,
  BackchannelUserLoginRequest,
  ProviderServices,
} from "../context";
import { utf8 } from "../crypto/encoding";
import type { Bindings } from "../env";
import { describeError, logger } from "../log";
import { postOnce, retryAt } from "../outbound/deliver";
import { approvalUrl } from "../routes";
import { userObjectName } from "../users/user-object";
import { type BackchannelAuthenticationRequest, expiresAt } from "./model";

import { RetryableNotificationError } from "./notification-errors";
import { WebPushNotificationService } from "./web-push-notifier";

export { RetryableNotificationError };

export function loginRequestView(
  settings: Settings,
  request: BackchannelAuthenticationRequest,
): BackchannelUserLoginRequest {
  return {
    internalId: request.internalId,
    subject: request.subject,
    clientId: request.clientId,
    clientName: request.clientName,
    bindingMessage: request.bindingMessage,
    requestedScopes: request.requestedScopes,
    requestedResourceIndicators: request.requestedResourceIndicators,
    authenticationContextReferenceClasses: request.authenticationContextReferenceClasses,
    tenant: request.tenant,
    idp: request.idp,
    expiresAt: expiresAt(request),
    approvalUrl: approvalUrl(settings.issuer, request.internalId),
    authorizationDetails: request.authorizationDetails ?? [],
    authorizationDetailsText: request.authorizationDetailsText ?? [],
  };
}

export class LogNotificationService implements BackchannelAuthenticationUserNotificationService {
  async sendLoginRequest(request: BackchannelUserLoginRequest): Promise<void> {
    logger.info("ciba_login_request", {
      subject: request.subject,
      client_id: request.clientId,
      binding_message: request.bindingMessage,
      ...(request.authorizationDetailsText.length > 0
        ? { authorization_details: request.authorizationDetailsText }
        : {}),
      approval_url: request.approvalUrl,
    });
  }
}

export class WebhookNotificationService implements BackchannelAuthenticationUserNotificationService {
  constructor(
    private readonly url: string,
    private readonly secret: string,
    private readonly timeoutMs = 5000,
  ) {}

  async sendLoginRequest(request: BackchannelUserLoginRequest): Promise<void> {
    const body = JSON.stringify({
      type: "ciba.login_request",
      internal_id: request.internalId,
      subject: request.subject,
      client_id: request.clientId,
      client_name: request.clientName,
      binding_message: request.bindingMessage ?? null,
      scopes: request.requestedScopes,
      // RFC 9396 §3: what the user is asked to approve, as the approval page says it.
      authorization_details_text: request.authorizationDetailsText,
      expires_at: request.expiresAt,
      approval_url: request.approvalUrl,
    });
    const timestamp = Math.floor(Date.now() / 1000);
    const result = await postOnce({
      url: this.url,
      headers: {
        "content-type": "application/json",
        "edge-op-signature": `t=${timestamp},v1=${await hmacHex(this.secret, `${timestamp}.${body}`)}`,
      },
      body,
      timeoutMs: this.timeoutMs,
      delivered: (status) => status >= 200 && status < 300,
    });
    if (result.outcome === "delivered") return;
    const message = `webhook ${result.reason}`;
    if (result.outcome === "retry") throw new RetryableNotificationError(message);
    throw new Error(message);
  }
}

export async function hmacHex(secret: string, data: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", utf8.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, utf8.encode(data)));
  return [...mac].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Sends the notice for `request` (attempt number `request.notificationAttempts + 1`).
 * Returns "sent", "failed", or the time (ms) of the next attempt.
 */
export async function deliverLoginNotification(
  services: Pick<ProviderServices, "notificationService">,
  settings: Settings,
  request: BackchannelAuthenticationRequest,
): Promise<"sent" | "failed" | number> {
  const attempt = request.notificationAttempts + 1;
  const log = { internal_id: request.internalId, client_id: request.clientId, attempt };
  try {
    await services.notificationService.sendLoginRequest(loginRequestView(settings, request));
    return "sent";
  } catch (error) {
    // The service is the integrator's: its message is bounded like any error's (src/log.ts).
    const reason = describeError(error).message;
    const next =
      error instanceof RetryableNotificationError ? retryAt(attempt, settings.cibaWebhookMaxAttempts) : undefined;
    if (next !== undefined) {
      logger.warn("ciba_notification_retry", { ...log, reason, retry_at: next });
      return next;
    }
    logger.error("ciba_notification_failed", { ...log, reason });
    return "failed";
  }
}

/** Several notifiers as one: each runs; a retryable failure of any retries them all. */
class NotifierList implements BackchannelAuthenticationUserNotificationService {
  constructor(private readonly notifiers: BackchannelAuthenticationUserNotificationService[]) {}

  async sendLoginRequest(request: BackchannelUserLoginRequest): Promise<void> {
    const results = await Promise.allSettled(this.notifiers.map((n) => n.sendLoginRequest(request)));
    const errors = results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
    if (errors.length === 0) return;
    const message = errors.map((e) => (e instanceof Error ? e.message : String(e))).join("; ");
    if (errors.some((e) => e instanceof RetryableNotificationError)) throw new RetryableNotificationError(message);
    throw new Error(message);
  }
}

/** A notifier that fails every notice with the configuration problem it names. */
function misconfigured(message: string): BackchannelAuthenticationUserNotificationService {
  return {
    sendLoginRequest: async () => {
      throw new Error(message);
    },
  };
}

type NotifierEnv = Pick<
  Bindings,
  "CIBA_WEBHOOK_SECRET" | "VAPID_PUBLIC_KEY" | "VAPID_PRIVATE_KEY" | "DATA_ENCRYPTION_KEY" | "USERS"
>;

function webhookNotifier(env: NotifierEnv, settings: Settings): BackchannelAuthenticationUserNotificationService {
  if (!settings.cibaWebhookUrl || !env.CIBA_WEBHOOK_SECRET) {
    return misconfigured("CIBA_NOTIFICATION=webhook needs CIBA_WEBHOOK_URL and the CIBA_WEBHOOK_SECRET secret");
  }
  return new WebhookNotificationService(settings.cibaWebhookUrl, env.CIBA_WEBHOOK_SECRET);
}

function webPushNotifier(env: NotifierEnv, settings: Settings): BackchannelAuthenticationUserNotificationService {
  const subject = settings.vapidSubject ?? settings.issuer;
  if (!env.VAPID_PUBLIC_KEY || !env.VAPID_PRIVATE_KEY) {
    return misconfigured("CIBA_NOTIFICATION=webpush needs the VAPID_PUBLIC_KEY and VAPID_PRIVATE_KEY secrets");
  }
  const users = env.USERS;
  return new WebPushNotificationService({
    vapid: { publicKey: env.VAPID_PUBLIC_KEY, privateKey: env.VAPID_PRIVATE_KEY, subject },
    dataKey: env.DATA_ENCRYPTION_KEY,
    policy: { allowLoopbackHttp: settings.allowHttpNotificationEndpoints },
    timeoutMs: settings.pushTimeout * 1000,
    devicesOf: async (sub) => users.get(users.idFromName(await userObjectName(sub))),
  });
}

/** The built-in notifiers CIBA_NOTIFICATION lists, as one service. */
export function builtInNotificationService(
  env: NotifierEnv,
  settings: Settings,
): BackchannelAuthenticationUserNotificationService {
  const notifiers = settings.cibaNotification.map((name) => {
    if (name === "log") return new LogNotificationService();
    if (name === "webhook") return webhookNotifier(env, settings);
    return webPushNotifier(env, settings);
  });
  return notifiers.length === 1 && notifiers[0] ? notifiers[0] : new NotifierList(notifiers);
}
