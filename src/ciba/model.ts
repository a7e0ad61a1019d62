/**
 * The backchannel authentication request, as the seed's BackChannelAuthenticationRequest
 * describes it, plus what edge-op needs to run it at the edge (expiry, polling interval,
 * status, notification state). One of these lives in each request's Durable Object.
 */

import { DELIVERY_MODES, type DeliveryMode } from "../clients/metadata";
import { arrayOf, bool, int, object, oneOf, optional, type Parser, str } from "../parse";
import { type StoredAuthorizationDetail, storedAuthorizationDetail } from "../rar/schema";
import type { UserGrant } from "../tokens/grant";

const REQUEST_STATUSES = ["pending", "approved", "denied", "consumed"] as const;
const DELIVERY_STATUSES = ["pending", "sent", "failed"] as const;
export type RequestStatus = (typeof REQUEST_STATUSES)[number];
export type NotificationStatus = (typeof DELIVERY_STATUSES)[number];
/** Ping/push delivery to the client: absent until there is something to deliver. */
export type ClientDeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface BackchannelAuthenticationRequest {
  /** The id the user's side uses (URLs, the interaction service); never the auth_req_id. */
  internalId: string;
  /** Epoch seconds. */
  creationTime: number;
  /** Seconds from creationTime until expiry (the `expires_in` given to the client). */
  lifetime: number;
  clientId: string;
  /** The client's display name when the request was made, for the user's side and notices. */
  clientName: string;
  /** The user the request is for (`sub`). */
  subject: string;
  requestedScopes: string[];
  requestedResourceIndicators: string[];
  authenticationContextReferenceClasses: string[];
  tenant?: string;
  idp?: string;
  bindingMessage?: string;
  /** RFC 9396: the authorization_details asked for, shown to the user and approved (or not) whole. */
  authorizationDetails?: StoredAuthorizationDetail[];
  /**
   * RFC 9396 §3: each detail as the sentence the user approves, rendered once when the request
   * is made, so that the page, the authenticator API and every notice (sent from the request's
   * alarm, which has no renderer of the provider's own types) say the same.
   */
  authorizationDetailsText?: string[];
  isComplete: boolean;
  authorizedScopes?: string[];
  sessionId?: string;
  description?: string;

  // edge-op additions.
  status: RequestStatus;
  deliveryMode: DeliveryMode;
  /** Current minimum seconds between polls; grows by 5 on every slow_down. */
  interval: number;
  /** Set on approval: when and how the user authenticated. */
  authTime?: number;
  amr?: string[];
  /** The first requested acr value the authentication (amr) met; absent if none (src/authn/acr.ts). */
  acr?: string;
  /**
   * Fixed at approval (issue 18): the grant's id (`grant_id` in its access tokens) and, when
   * offline_access was granted, the id of the refresh-token family its tokens may start. The
   * user's answer entry (src/users/user-object.ts) keeps both, so sign-out and the account page
   * can revoke the grant without a D1 row written at the token response.
   */
  grantId?: string;
  refreshFamilyId?: string;
  notificationStatus: NotificationStatus;
  notificationAttempts: number;

  // Ping and push (CIBA §10.2, §10.3): only for requests of ping/push clients.
  /** The client's notification endpoint when the request was made. */
  clientNotificationEndpoint?: string;
  /**
   * `{authReqId, clientNotificationToken}` as JSON, encrypted with DATA_ENCRYPTION_KEY and bound
   * to this request (aad `ciba_delivery:<internalId>`): both are needed to notify the client,
   * and neither may be kept in the clear.
   */
  deliverySecrets?: string;
  /** Set when the result is ready for the client (approval, denial, or, for push, expiry). */
  clientDeliveryStatus?: ClientDeliveryStatus;
  clientDeliveryAttempts?: number;
  /**
   * Push only: the exact payload being delivered, encrypted like deliverySecrets (aad
   * `ciba_push:<internalId>`), so that every retry sends the same tokens. Removed once the
   * delivery is over.
   */
  pushPayload?: string;
  /**
   * Push only: the x5t#S256 of the client certificate that authenticated the request. Pushed
   * tokens are minted without a client connection, so they are bound to this one (RFC 8705 §3).
   */
  certificateThumbprint?: string;
}

const strings = arrayOf(str);

/** The record as a request's object stores it (JSON), read back field by field. */
export const backchannelRequestRecord: Parser<BackchannelAuthenticationRequest> =
  object<BackchannelAuthenticationRequest>({
    internalId: str,
    creationTime: int,
    lifetime: int,
    clientId: str,
    clientName: str,
    subject: str,
    requestedScopes: strings,
    requestedResourceIndicators: strings,
    authenticationContextReferenceClasses: strings,
    tenant: optional(str),
    idp: optional(str),
    bindingMessage: optional(str),
    authorizationDetails: optional(arrayOf(storedAuthorizationDetail)),
    authorizationDetailsText: optional(strings),
    isComplete: bool,
    authorizedScopes: optional(strings),
    sessionId: optional(str),
    description: optional(str),
    status: oneOf(REQUEST_STATUSES),
    deliveryMode: oneOf(DELIVERY_MODES),
    interval: int,
    authTime: optional(int),
    amr: optional(strings),
    acr: optional(str),
    grantId: optional(str),
    refreshFamilyId: optional(str),
    notificationStatus: oneOf(DELIVERY_STATUSES),
    notificationAttempts: int,
    clientNotificationEndpoint: optional(str),
    deliverySecrets: optional(str),
    clientDeliveryStatus: optional(oneOf(DELIVERY_STATUSES)),
    clientDeliveryAttempts: optional(int),
    pushPayload: optional(str),
    certificateThumbprint: optional(str),
  });

export function expiresAt(request: Pick<BackchannelAuthenticationRequest, "creationTime" | "lifetime">): number {
  return request.creationTime + request.lifetime;
}

/** What an approved request granted, for minting tokens (at /token, or for a push). */
export function userGrantOf(request: BackchannelAuthenticationRequest): UserGrant {
  return {
    clientId: request.clientId,
    subject: request.subject,
    scopes: request.authorizedScopes ?? [],
    resources: request.requestedResourceIndicators,
    authTime: request.authTime ?? request.creationTime,
    amr: request.amr ?? [],
    acr: request.acr,
    sid: request.sessionId,
    grantId: request.grantId,
    // RFC 9396: an approval approves the details the user was shown with the request.
    ...(request.authorizationDetails?.length ? { authorizationDetails: request.authorizationDetails } : {}),
  };
}

/**
 * How an approved request's tokens are issued (issue 18): the refresh-token family fixed at
 * approval, and no session_grants row when the user's answer entry already names the grant (a
 * request approved before the grant id was fixed at approval still gets its row).
 */
export function issueOptionsOf(request: BackchannelAuthenticationRequest): {
  refreshFamilyId?: string;
  grantLinkKept: boolean;
} {
  return { refreshFamilyId: request.refreshFamilyId, grantLinkKept: request.grantId !== undefined };
}

/** What a poll at the token endpoint found, decided atomically inside the request's object. */
export type PollOutcome =
  | { kind: "invalid_grant"; reason: string }
  | { kind: "slow_down"; interval: number }
  | { kind: "expired_token" }
  | { kind: "access_denied" }
  | { kind: "authorization_pending" }
  | { kind: "approved"; request: BackchannelAuthenticationRequest };

/** The user's answer to a request (the seed's CompleteBackchannelLoginRequest). */
export interface CompleteBackchannelLoginRequest {
  internalId: string;
  /** Scopes the user consented to; empty or missing denies the request. */
  scopesValuesConsented?: string[];
  description?: string;
  /** The user completing the request: must be the request's subject. */
  subject: string;
  sessionId?: string;
  /**
   * When the user authenticated (epoch seconds) and how; default: now and ["pwd"]. The request's
   * `acr` is derived from `amr` (src/authn/acr.ts): no caller states a class itself.
   */
  authTime?: number;
  amr?: string[];
}

/**
 * What an answer sets on a request (issue 18): all a poll-mode request's object needs to learn
 * its answer back from the user's answer entry, which keeps this (small, as every answer is
 * scanned when the user's object counts pending requests), not the whole record.
 */
export type AnswerFields = Pick<
  BackchannelAuthenticationRequest,
  | "internalId"
  | "isComplete"
  | "status"
  | "authorizedScopes"
  | "sessionId"
  | "description"
  | "authTime"
  | "amr"
  | "acr"
  | "grantId"
  | "refreshFamilyId"
>;

export const answerFieldsRecord: Parser<AnswerFields> = object<AnswerFields>({
  internalId: str,
  isComplete: bool,
  status: oneOf(REQUEST_STATUSES),
  authorizedScopes: optional(strings),
  sessionId: optional(str),
  description: optional(str),
  authTime: optional(int),
  amr: optional(strings),
  acr: optional(str),
  grantId: optional(str),
  refreshFamilyId: optional(str),
});

/** The ids an approval fixes (issue 18), drawn by the store, not by the caller. */
export interface ApprovalIds {
  grantId: string;
  refreshFamilyId: string;
}

export type CompletionOutcome =
  | { ok: true; request: BackchannelAuthenticationRequest }
  | {
      ok: false;
      reason: "not_found" | "expired" | "already_completed" | "wrong_user" | "scope_not_requested" | "step_up_required";
    };
