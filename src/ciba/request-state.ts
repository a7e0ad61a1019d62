/**
 * The life of a backchannel request as pure state transitions: each function takes the record
 * (and the input, and the time) and returns what to store and what to answer, touching no
 * storage, clock or network. The request's Durable Object (./request-object.ts) loads the
 * record, applies one of these and saves the result in one synchronous step, which is what makes
 * each transition atomic; the functions themselves are tested without an object
 * (test/ciba-request-state.test.ts). Times are epoch milliseconds unless named otherwise.
 */
import { satisfiedAcr, unmetRequiredAcr } from "../authn/acr";
import {
  type AnswerFields,
  type ApprovalIds,
  type BackchannelAuthenticationRequest,
  type CompleteBackchannelLoginRequest,
  type CompletionOutcome,
  expiresAt,
  type PollOutcome,
} from "./model";

type Request = BackchannelAuthenticationRequest;

/** RFC 8628 §3.5 / CIBA §11: each slow_down adds this many seconds to the request's interval. */
export const SLOW_DOWN_STEP = 5;

/** The outcome of a transition: what to answer, and the record to save (undefined: nothing changed). */
export interface Transition<T> {
  outcome: T;
  save?: Request;
}

function isExpired(request: Request, now: number): boolean {
  return now >= expiresAt(request) * 1000;
}

/**
 * The token endpoint's question (CIBA §11), in this order: invalid_grant (unknown, another
 * client's, already used, push mode: C23) → slow_down (polled within `interval` of the previous
 * poll, `lastPollAt`; the interval then grows by 5 s) → expired_token → access_denied →
 * authorization_pending → approved, which consumes the request.
 */
export function poll(
  request: Request | undefined,
  input: { clientId: string; lastPollAt: number | undefined },
  now: number,
): Transition<PollOutcome> {
  if (!request || request.clientId !== input.clientId) {
    return { outcome: { kind: "invalid_grant", reason: "unknown auth_req_id" } };
  }
  if (request.status === "consumed")
    return { outcome: { kind: "invalid_grant", reason: "auth_req_id was already used" } };
  // C23: a push request's result goes only to the client's endpoint, never to /token as well.
  if (request.deliveryMode === "push") {
    return {
      outcome: { kind: "invalid_grant", reason: "the result of a push-mode request is pushed to the client" },
    };
  }
  if (input.lastPollAt !== undefined && now - input.lastPollAt < request.interval * 1000) {
    const slowed = { ...request, interval: request.interval + SLOW_DOWN_STEP };
    return { outcome: { kind: "slow_down", interval: slowed.interval }, save: slowed };
  }
  if (isExpired(request, now)) return { outcome: { kind: "expired_token" } };
  if (request.status === "denied") return { outcome: { kind: "access_denied" } };
  if (request.status === "pending") return { outcome: { kind: "authorization_pending" } };
  const consumed: Request = { ...request, status: "consumed" };
  return { outcome: { kind: "approved", request: consumed }, save: consumed };
}

/**
 * The user's answer: only the request's subject, only before expiry, only once, only scopes it
 * asked for. No consented scope denies. An approval always keeps `openid`, records when and how
 * the user authenticated, and states the acr that authentication met (OIDC Core §2), never
 * merely the one asked for. A ping or push request then has a result to deliver (CIBA §10.2,
 * §10.3), so its object must wake (`deliver`).
 */
export function complete(
  request: Request | undefined,
  completion: CompleteBackchannelLoginRequest & { ids?: ApprovalIds },
  now: number,
): Transition<CompletionOutcome> & { deliver: boolean } {
  const refused = (reason: Exclude<CompletionOutcome, { ok: true }>["reason"]) => ({
    outcome: { ok: false, reason } as const,
    deliver: false,
  });
  if (!request) return refused("not_found");
  const nowSeconds = Math.floor(now / 1000);
  if (nowSeconds >= expiresAt(request)) return refused("expired");
  if (request.isComplete) return refused("already_completed");
  if (completion.subject !== request.subject) return refused("wrong_user");
  const consented = [...new Set(completion.scopesValuesConsented ?? [])];
  if (consented.some((scope) => !request.requestedScopes.includes(scope))) return refused("scope_not_requested");
  // EAP ACR Values §2 (issue 16): a phr request is approved only with a passkey assertion made
  // for this approval; whatever page or API the answer came through, anything less is refused.
  if (consented.length > 0 && unmetRequiredAcr(request.authenticationContextReferenceClasses, completion.amr ?? [])) {
    return refused("step_up_required");
  }

  const answered: Request = {
    ...request,
    isComplete: true,
    sessionId: completion.sessionId,
    description: completion.description,
  };
  if (consented.length === 0) {
    answered.status = "denied";
  } else {
    // openid is the protocol itself, not a permission: an approved CIBA request always has it.
    answered.authorizedScopes = request.requestedScopes.filter((s) => s === "openid" || consented.includes(s));
    answered.status = "approved";
    answered.authTime = completion.authTime ?? nowSeconds;
    // An approval whose authentication is unknown (a bearer-token caller) claims no method.
    answered.amr = completion.amr ?? [];
    answered.acr = satisfiedAcr(request.authenticationContextReferenceClasses, answered.amr);
    // Fixed now, not at the token response, so the user's answer entry can name what to revoke.
    if (completion.ids) {
      answered.grantId = completion.ids.grantId;
      if (answered.authorizedScopes.includes("offline_access"))
        answered.refreshFamilyId = completion.ids.refreshFamilyId;
    }
  }
  const deliver = request.deliveryMode !== "poll";
  if (deliver) {
    answered.clientDeliveryStatus = "pending";
    answered.clientDeliveryAttempts = 0;
  }
  return { outcome: { ok: true, request: answered }, save: answered, deliver };
}

/**
 * `request` as stored, with the user's answer `answered` laid over it (issue 18: a poll-mode
 * answer's durable copy is the user's answer entry, not a write in the request's object). Only
 * what the answer sets is taken from it; the rest (interval, notification state) stays as stored.
 */
export function withAnswer(request: Request, answered: AnswerFields): Request {
  return {
    ...request,
    isComplete: answered.isComplete,
    status: answered.status,
    authorizedScopes: answered.authorizedScopes,
    sessionId: answered.sessionId,
    description: answered.description,
    authTime: answered.authTime,
    amr: answered.amr,
    acr: answered.acr,
    grantId: answered.grantId,
    refreshFamilyId: answered.refreshFamilyId,
  };
}

/** What the user's answer entry keeps of an answered request, for `withAnswer`. */
export function answerFieldsOf(answered: Request): AnswerFields {
  return {
    internalId: answered.internalId,
    isComplete: answered.isComplete,
    status: answered.status,
    authorizedScopes: answered.authorizedScopes,
    sessionId: answered.sessionId,
    description: answered.description,
    authTime: answered.authTime,
    amr: answered.amr,
    acr: answered.acr,
    grantId: answered.grantId,
    refreshFamilyId: answered.refreshFamilyId,
  };
}

/** Replaces the descriptive fields only (the seed's UpdateByInternalIdAsync). */
export function update(request: Request, changes: Pick<Request, "description" | "bindingMessage">): Request {
  return { ...request, description: changes.description, bindingMessage: changes.bindingMessage };
}

/** Whether the user still has to be told about the request: pending notice, open, unexpired. */
export function needsUserNotification(request: Request | undefined, now: number): request is Request {
  return request?.notificationStatus === "pending" && !request.isComplete && !isExpired(request, now);
}

/** The outcome of one notice: sent, failed for good, or the time of the next attempt. */
export function notificationAttempted(request: Request, outcome: "sent" | "failed" | number): Request {
  return {
    ...request,
    notificationAttempts: request.notificationAttempts + 1,
    notificationStatus: outcome === "sent" ? "sent" : outcome === "failed" ? "failed" : "pending",
  };
}

/** CIBA §10.3.1: a push request that expired unanswered has `expired_token` to deliver. */
export function expiryPush(request: Request | undefined, now: number): Request | undefined {
  if (request?.deliveryMode !== "push" || request.isComplete || request.clientDeliveryStatus) return undefined;
  if (!isExpired(request, now)) return undefined;
  return { ...request, clientDeliveryStatus: "pending", clientDeliveryAttempts: 0 };
}

/** A push request still open: its alarm must also fire at expiry, to push `expired_token`. */
export function awaitsExpiryPush(request: Request, now: number): boolean {
  return (
    request.deliveryMode === "push" &&
    !request.isComplete &&
    request.clientDeliveryStatus === undefined &&
    !isExpired(request, now)
  );
}

/** The number of the next delivery attempt to the client, if one is pending. */
export function pendingClientDelivery(request: Request | undefined): number | undefined {
  return request?.clientDeliveryStatus === "pending" ? (request.clientDeliveryAttempts ?? 0) + 1 : undefined;
}

/**
 * An approved push request's tokens were minted: in the same step the request is used up and
 * the (sealed) payload kept, so every retry sends the same tokens. Undefined when the request
 * is no longer approved (nothing else consumes a push request; if something did, send nothing).
 */
export function consumedForPush(request: Request | undefined, sealedPayload: string): Request | undefined {
  if (request?.status !== "approved") return undefined;
  return { ...request, status: "consumed", pushPayload: sealedPayload };
}

/** The outcome of delivery attempt `attempt`; pushed tokens are not kept once it is over. */
export function clientDeliveryAttempted(
  request: Request,
  attempt: number,
  outcome: "sent" | "failed" | number,
): Request {
  const next: Request = {
    ...request,
    clientDeliveryAttempts: attempt,
    clientDeliveryStatus: typeof outcome === "number" ? "pending" : outcome,
  };
  if (typeof outcome !== "number") delete next.pushPayload;
  return next;
}

/**
 * What the alarm does after its work: delete the request once it is past expiry plus
 * `graceSeconds` with nothing left to deliver; otherwise wake at the earliest of the retries
 * asked for, the deletion time and (push) the expiry.
 */
export function nextAlarm(
  request: Request,
  input: { graceSeconds: number; retries: number[] },
  now: number,
): { delete: true } | { delete: false; wakeAt: number } {
  const wakeAt = [...input.retries];
  if (request.clientDeliveryStatus !== "pending") {
    const deleteAt = (expiresAt(request) + input.graceSeconds) * 1000;
    if (now >= deleteAt) return { delete: true };
    wakeAt.push(deleteAt);
  }
  if (awaitsExpiryPush(request, now)) wakeAt.push(expiresAt(request) * 1000);
  // Empty only if a delivery became pending while the alarm awaited: run again at once.
  return { delete: false, wakeAt: wakeAt.length > 0 ? Math.min(...wakeAt) : now };
}
