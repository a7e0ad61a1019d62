/**
 * The user's side of a backchannel request: its entry in the user's pending list, kept by the
 * user's own Durable Object (src/users/user-object.ts, binding USERS), which replaced D1's
 * backchannel_login_index (issue 16). The entry carries what the /ciba list and live pages show
 * (`view`) and the request record itself (`detail`, without its sealed delivery secrets), so
 * listing a user's requests is one call to one object whatever their number.
 */
import type { Bindings } from "../env";
import { type PendingRequest, type RequestAnswer, userObjectName } from "../users/user-object";
import { type BackchannelAuthenticationRequest, expiresAt } from "./model";

/** How long the user's answers are kept for the account page (30 days). */
export const ANSWER_RETENTION = 30 * 24 * 3600;

/** The user's object, by the hash of the subject (realm-scoped like every named object). */
export async function pendingListOf(env: Pick<Bindings, "USERS">, subject: string) {
  return env.USERS.get(env.USERS.idFromName(await userObjectName(subject)));
}

/** What the user's pages show of a request. */
export function pendingView(request: BackchannelAuthenticationRequest): PendingRequest {
  return {
    internalId: request.internalId,
    clientId: request.clientId,
    clientName: request.clientName,
    bindingMessage: request.bindingMessage ?? null,
    scopes: request.requestedScopes,
    acrValues: request.authenticationContextReferenceClasses,
    createdAt: request.creationTime,
    expiresAt: expiresAt(request),
  };
}

/**
 * What the user's object keeps of an answered request (issue 18): the account page's history,
 * and for an approval the grant that sign-out and withdrawal revoke. Kept 30 days, or as long
 * as the grant's refresh-token family may live (`refreshFamilyLifetime`, REFRESH_TOKEN_TTL).
 */
export function answerEntryOf(request: BackchannelAuthenticationRequest, refreshFamilyLifetime: number): RequestAnswer {
  const decidedAt = Math.floor(Date.now() / 1000);
  const scopes = request.status === "approved" ? (request.authorizedScopes ?? []) : [];
  const answer: RequestAnswer = {
    decision: scopes.length > 0 ? "approved" : "denied",
    scopes,
    decidedAt,
    keepUntil: decidedAt + Math.max(ANSWER_RETENTION, request.refreshFamilyId ? refreshFamilyLifetime : 0),
  };
  if (answer.decision === "approved") {
    if (request.grantId) answer.grantId = request.grantId;
    if (request.refreshFamilyId) answer.refreshFamilyId = request.refreshFamilyId;
    if (request.sessionId) answer.sessionId = request.sessionId;
  }
  return answer;
}

/**
 * The record as the list keeps it: everything the user's side reads, but not the sealed
 * ping/push secrets or payload, which only the request's own object needs.
 */
export function pendingDetail(request: BackchannelAuthenticationRequest): string {
  const { deliverySecrets: _secrets, pushPayload: _payload, ...shown } = request;
  return JSON.stringify(shown);
}
