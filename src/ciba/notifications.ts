/**
 * BackchannelAuthenticationUserNotificationService: tells the user that a client is asking
 * them to approve something. Two built-ins, chosen by CIBA_NOTIFICATION:
 *  - `log`: writes the approval URL to the Worker's log (local development);
 *  - `webhook`: POSTs a signed JSON notice to CIBA_WEBHOOK_URL, for a push-notification or SMS
 *    service to relay. Signature header: `Edge-Op-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
 *    "<t>.<body>" with CIBA_WEBHOOK_SECRET>`.
 * Integrators replace it with their own (createProvider's `services.notificationService`). It
 * runs from the request's alarm: a thrown RetryableNotificationError is retried with backoff,
 * anything else fails the notification at once. Either way the failure is logged and the
 * request shows it.
 */
import type { Settings } from "../config";
import type {
  BackchannelAuthenticationUserNotificationService,
  BackchannelUserLoginRequest,
  ProviderServices,
} from "../context";
import { utf8 } from "../crypto/encoding";
import { describeError, logger } from "../log";
import { postOnce, retryAt } from "../outbound/deliver";
import { approvalUrl } from "../routes";
import { type BackchannelAuthenticationRequest, expiresAt } from "./model";

/** Thrown for failures worth retrying (network errors, 5xx, 429). */
export class RetryableNotificationError extends Error {
  override name = "RetryableNotificationError";
}

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
  };
}

export class LogNotificationService implements BackchannelAuthenticationUserNotificationService {
  async sendLoginRequest(request: BackchannelUserLoginRequest): Promise<void> {
    logger.info("ciba_login_request", {
      subject: request.subject,
      client_id: request.clientId,
      binding_message: request.bindingMessage,
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

/** The built-in notifier the settings choose. */
export function builtInNotificationService(
  env: { CIBA_WEBHOOK_SECRET?: string },
  settings: Settings,
): BackchannelAuthenticationUserNotificationService {
  if (settings.cibaNotification === "log") return new LogNotificationService();
  if (!settings.cibaWebhookUrl || !env.CIBA_WEBHOOK_SECRET) {
    return {
      sendLoginRequest: async () => {
        throw new Error("CIBA_NOTIFICATION=webhook needs CIBA_WEBHOOK_URL and the CIBA_WEBHOOK_SECRET secret");
      },
    };
  }
  return new WebhookNotificationService(settings.cibaWebhookUrl, env.CIBA_WEBHOOK_SECRET);
}
