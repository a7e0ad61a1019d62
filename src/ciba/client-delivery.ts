/**
 * Ping and push delivery (CIBA §10.2, §10.3; checklist C25, C26, S3): what a request's Durable
 * Object sends to the client's notification endpoint, and how one attempt is judged. The
 * object's alarm drives the attempts and keeps their state (src/ciba/request-object.ts); this
 * module keeps none.
 *
 * One attempt: the endpoint checked again (https, no non-public address literal: the settings
 * may have changed since the request was accepted), then POST JSON with `Authorization: Bearer
 * <client_notification_token>` through the outbound helper (src/outbound/deliver.ts: redirects
 * not followed, bounded by CIBA_CLIENT_NOTIFICATION_TIMEOUT, the answer classified). 200 and 204 are success. A network
 * error, timeout, 408, 429 or 5xx is retried (backoff 2, 4, 8 … s, up to
 * CIBA_CLIENT_NOTIFICATION_MAX_ATTEMPTS). A 3xx, 401, 403 or any other status ends the delivery:
 * retrying cannot fix a wrong endpoint or a token the client does not accept.
 */
import { notificationEndpointProblem } from "../clients/metadata";
import type { Settings } from "../config";
import type { RequestContext } from "../context";
import { decrypt, encrypt } from "../crypto/encryption";
import type { Bindings } from "../env";
import type { TokenResponse } from "../grants/token-response";
import { describeError, logger } from "../log";
import { postOnce, retryAt } from "../outbound/deliver";
import { arrayOf, int, isRecord, json, object, oneOf, optional, type Parser, readStored, str } from "../parse";
import { storedAuthorizationDetail } from "../rar/schema";
import { issueUserTokens } from "../tokens/issue";
import { type BackchannelAuthenticationRequest, issueOptionsOf, userGrantOf } from "./model";

/** CIBA §10.3.1: the ID token claim that names the request a pushed ID token answers. */
export const AUTH_REQ_ID_CLAIM = "urn:openid:params:jwt:claim:auth_req_id";

/** What a ping/push delivery needs and the request record may only hold encrypted. */
export interface DeliverySecrets {
  authReqId: string;
  clientNotificationToken: string;
}

export type PushErrorCode = "access_denied" | "expired_token" | "transaction_failed";

/** CIBA §10.3.1: the push of an error. */
export interface PushError {
  error: PushErrorCode;
  error_description: string;
  auth_req_id: string;
}

/** CIBA §10.3.1: the push of tokens, the token response plus the auth_req_id it answers. */
export type PushedTokens = TokenResponse & { auth_req_id: string };

export type ClientPayload = { auth_req_id: string } | PushedTokens | PushError;

/** "sent", "failed" (final), or the time (ms) of the next attempt. */
export type AttemptOutcome = "sent" | "failed" | number;

const deliverySecrets: Parser<DeliverySecrets> = object<DeliverySecrets>({
  authReqId: str,
  clientNotificationToken: str,
});

/** A push payload kept for retries: a token response, an error, or (ping) the bare auth_req_id. */
const clientPayload: Parser<ClientPayload> = (value, at) => {
  if (isRecord(value) && typeof value.access_token === "string") {
    return object<PushedTokens>({
      access_token: str,
      token_type: oneOf(["Bearer", "DPoP"]),
      expires_in: int,
      scope: optional(str),
      id_token: optional(str),
      refresh_token: optional(str),
      authorization_details: optional(arrayOf(storedAuthorizationDetail)),
      auth_req_id: str,
    })(value, at);
  }
  if (isRecord(value) && typeof value.error === "string") {
    return object<PushError>({
      error: oneOf(["access_denied", "expired_token", "transaction_failed"]),
      error_description: str,
      auth_req_id: str,
    })(value, at);
  }
  return object<{ auth_req_id: string }>({ auth_req_id: str })(value, at);
};

const PUSH_ERROR_DESCRIPTIONS: Record<PushErrorCode, string> = {
  access_denied: "the user denied the request",
  expired_token: "the request expired before the user answered it",
  transaction_failed: "the tokens could not be issued",
};

function deliverySecretsAad(internalId: string): string {
  return `ciba_delivery:${internalId}`;
}

function pushPayloadAad(internalId: string): string {
  return `ciba_push:${internalId}`;
}

export function sealDeliverySecrets(env: Bindings, internalId: string, secrets: DeliverySecrets): Promise<string> {
  return encrypt(env.DATA_ENCRYPTION_KEY, JSON.stringify(secrets), deliverySecretsAad(internalId));
}

/** Undefined when the request has none, or they cannot be decrypted (another key, another request). */
export async function openDeliverySecrets(
  env: Bindings,
  request: BackchannelAuthenticationRequest,
): Promise<DeliverySecrets | undefined> {
  if (!request.deliverySecrets) return undefined;
  const plain = await decrypt(env.DATA_ENCRYPTION_KEY, request.deliverySecrets, deliverySecretsAad(request.internalId));
  return plain === undefined
    ? undefined
    : readStored("backchannel request delivery secrets", json(deliverySecrets), plain);
}

export function sealPushPayload(env: Bindings, internalId: string, payload: ClientPayload): Promise<string> {
  return encrypt(env.DATA_ENCRYPTION_KEY, JSON.stringify(payload), pushPayloadAad(internalId));
}

export async function openPushPayload(
  env: Bindings,
  request: BackchannelAuthenticationRequest,
): Promise<ClientPayload | undefined> {
  if (!request.pushPayload) return undefined;
  const plain = await decrypt(env.DATA_ENCRYPTION_KEY, request.pushPayload, pushPayloadAad(request.internalId));
  return plain === undefined ? undefined : readStored("backchannel request push payload", json(clientPayload), plain);
}

export function pushError(error: PushErrorCode, authReqId: string): PushError {
  return { error, error_description: PUSH_ERROR_DESCRIPTIONS[error], auth_req_id: authReqId };
}

/**
 * CIBA §10.3.1: the tokens of an approved push-mode request, with an ID token bound to them
 * (`at_hash`, `rt_hash`) and to the request (`urn:openid:params:jwt:claim:auth_req_id`).
 * A client that is no longer registered, or any failure to mint, yields `transaction_failed`.
 */
export async function mintPushTokens(
  ctx: RequestContext,
  request: BackchannelAuthenticationRequest,
  authReqId: string,
): Promise<PushedTokens | PushError> {
  const log = { internal_id: request.internalId, client_id: request.clientId };
  try {
    const client = await ctx.stores.clients.find(request.clientId);
    if (!client) {
      logger.error("ciba_push_tokens_failed", { ...log, reason: "client not registered" });
      return pushError("transaction_failed", authReqId);
    }
    const authenticated = { ...client, certificateThumbprint: request.certificateThumbprint };
    const tokens = await issueUserTokens(ctx, authenticated, userGrantOf(request), {
      ...issueOptionsOf(request),
      idTokenClaims: { [AUTH_REQ_ID_CLAIM]: authReqId },
      tokenHashes: true,
    });
    logger.info("ciba_tokens_issued", { ...log, delivery: "push" });
    return { ...tokens, auth_req_id: authReqId };
  } catch (error) {
    logger.error("ciba_push_tokens_failed", { ...log, reason: describeError(error).message });
    return pushError("transaction_failed", authReqId);
  }
}

export interface AttemptLog {
  internal_id: string;
  client_id: string;
  mode: string;
  attempt: number;
}

/** One delivery attempt (number `log.attempt`) of `payload` to the client's endpoint. */
export async function sendToClient(
  settings: Settings,
  endpoint: string,
  clientNotificationToken: string,
  payload: ClientPayload,
  log: AttemptLog,
): Promise<AttemptOutcome> {
  const retryOrFail = (reason: string): AttemptOutcome => {
    const next = retryAt(log.attempt, settings.cibaClientNotificationMaxAttempts);
    if (next === undefined) return fail(reason);
    logger.warn("ciba_client_notification_retry", { ...log, reason, retry_at: next });
    return next;
  };
  const fail = (reason: string): AttemptOutcome => {
    logger.error("ciba_client_notification_failed", { ...log, reason });
    return "failed";
  };

  // S3: checked where the bearer token leaves, not only where the endpoint came in.
  const problem = notificationEndpointProblem(endpoint, settings.allowHttpNotificationEndpoints);
  if (problem) return fail(`not sent: the endpoint ${problem}`);

  const result = await postOnce({
    url: endpoint,
    headers: { "content-type": "application/json", authorization: `Bearer ${clientNotificationToken}` },
    body: JSON.stringify(payload),
    timeoutMs: settings.cibaClientNotificationTimeout * 1000,
    // CIBA §10.2: the client answers 204 (200 is accepted too).
    delivered: (status) => status === 200 || status === 204,
    explain: (status) =>
      status === 401 || status === 403 ? `answered ${status}; the client refused the token` : undefined,
  });
  switch (result.outcome) {
    case "delivered":
      logger.info("ciba_client_notification_sent", log);
      return "sent";
    case "retry":
      return retryOrFail(result.reason);
    case "give_up":
      return fail(result.reason);
  }
}
