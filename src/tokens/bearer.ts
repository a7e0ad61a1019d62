/**
 * Accepting this provider's own access tokens at its own resource endpoints (/userinfo, the
 * authenticator API), as a Bearer token (RFC 6750 §2.1) or a DPoP-bound one (RFC 9449 §7). One pipeline, so both endpoints
 * refuse the same tokens: signature, issuer and type (RFC 9068), an audience that is not this
 * endpoint (RFC 9068 §4), the client certificate of a bound token (RFC 8705 §3), a revoked
 * grant or a token revoked on its own (RFC 7009), a client still registered (RFC 7592 §2.3), the
 * endpoint's scope, and a user who still exists.
 */
import type { JWTPayload } from "jose";
import type { RequestContext } from "../context";
import { accessTokenOf, dpopBoundTokenCheck } from "../dpop/binding";
import { InvalidDpopProof } from "../dpop/errors";
import { publishedEndpointUrl } from "../dpop/htu";
import { dpopProofOf, verifyDpopProof } from "../dpop/proof";
import { BearerTokenRequired, InsufficientScope, InvalidRequest, InvalidToken } from "../errors";
import { certificateBindingHolds } from "../mtls/bound-tokens";
import type { User } from "../users/user";
import { type VerifiedAccessToken, verifyAccessToken } from "./jwt";
import { loadKeys } from "./keys";
import { isAccessTokenRevoked } from "./revoked-access-tokens";
import { isGrantRevoked } from "./revoked-grants";
import { tokenClientRegistered } from "./token-client";

export interface AcceptedAccessToken extends VerifiedAccessToken {
  user: User;
}

/** What one resource endpoint requires of an access token. */
export interface ResourceRequirements {
  /** Without it: 403 insufficient_scope. */
  scope: string;
  /** Every `aud` of the token must be one of these (src/params/resource-indicators.ts). */
  audiences: readonly string[];
}

/**
 * The token in `Authorization: Bearer <token>` (RFC 6750 §2.1). No header at all gets a bare
 * challenge (BearerTokenRequired); a malformed one is invalid_request (§3.1).
 */
export function bearerTokenOf(header: string | undefined | null): string {
  if (header === undefined || header === null) throw new BearerTokenRequired();
  const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(header.trim());
  if (!match?.[1]) throw new InvalidRequest("the Authorization header must be Bearer <access token>", 400);
  return match[1];
}

/** An accepted token, and the DPoP nonce to send next (RFC 9449 §9) when there is a fresher one. */
export interface PresentedTokenResult {
  token: AcceptedAccessToken;
  dpopNonce?: string;
}

/**
 * The access token of the request's Authorization header, as Bearer (RFC 6750 §2.1) or DPoP
 * (RFC 9449 §7.1), accepted by this endpoint. Pipeline: accessTokenOf → dpopProofOfScheme
 * (§4.3 with `ath`, for the URL of this request) → acceptAccessToken → dpopBoundTokenCheck
 * (§7.1, §7.2: a DPoP-bound token needs a proof made with its key, never a Bearer header).
 */
export async function acceptPresentedAccessToken(
  ctx: RequestContext,
  required: ResourceRequirements,
): Promise<PresentedTokenResult> {
  const policy = ctx.dpop.resourceServer;
  const presented = accessTokenOf(ctx.request.headers.get("authorization"), policy.algorithms);
  const proof = presented.scheme === "DPoP" ? await dpopProofOfScheme(ctx, presented.token) : undefined;
  const token = await acceptAccessToken(ctx, presented.token, required);
  dpopBoundTokenCheck(token.payload.cnf, proof?.jkt, policy.algorithms);
  return proof?.nextNonce === undefined ? { token } : { token, dpopNonce: proof.nextNonce };
}

/** RFC 9449 §7.1: with the DPoP scheme, a proof for this request and this token is required. */
async function dpopProofOfScheme(ctx: RequestContext, accessToken: string) {
  const policy = ctx.dpop.resourceServer;
  const proof = dpopProofOf(ctx.request.headers, policy);
  if (proof === undefined) {
    throw new InvalidDpopProof("the DPoP scheme needs a DPoP proof header", policy.site, policy.algorithms);
  }
  const url = publishedEndpointUrl(ctx.settings.issuer, ctx.settings.mtlsEndpointOrigin, ctx.request.url);
  return verifyDpopProof(proof, { method: ctx.request.method, url, accessToken }, policy);
}

/**
 * Throws invalid_token (401), or insufficient_scope (403) without `requiredScope`, for a token
 * this endpoint must refuse.
 */
export async function acceptAccessToken(
  ctx: RequestContext,
  token: string,
  required: ResourceRequirements,
): Promise<AcceptedAccessToken> {
  const keys = await loadKeys(ctx);
  const verified = await verifyAccessToken(keys, token, ctx.settings.issuer);
  if (!verified) throw new InvalidToken("the access token is invalid or expired");
  checkAudience(verified.payload, required.audiences);
  if (!(await certificateBindingHolds(ctx, verified.payload))) {
    throw new InvalidToken("the access token is bound to a client certificate that was not presented");
  }
  const grantId = verified.payload.grant_id;
  if (typeof grantId === "string" && (await isGrantRevoked(ctx.env.DB, grantId))) {
    throw new InvalidToken("the access token has been revoked");
  }
  // RFC 7009: a token revoked on its own (one without a grant, e.g. client_credentials).
  if (typeof verified.payload.jti === "string" && (await isAccessTokenRevoked(ctx.env.DB, verified.payload.jti))) {
    throw new InvalidToken("the access token has been revoked");
  }
  // RFC 7592 §2.3: a removed or disabled client's tokens, those no revoked grant lists too,
  // and an earlier client's under a reused client_id.
  if (!(await tokenClientRegistered(ctx, verified.client_id, verified.payload.iat))) {
    throw new InvalidToken("the access token's client is no longer registered");
  }
  if (!verified.scope.includes(required.scope)) throw new InsufficientScope(`the ${required.scope} scope is required`);
  const user = await ctx.stores.users.findBySubject(verified.sub);
  if (!user) throw new InvalidToken("the access token does not identify a user");
  return { ...verified, user };
}

/**
 * RFC 9068 §4: the token must be meant for this endpoint. Every audience must be one it
 * accepts, as node-oidc-provider refuses any resource server's token at its UserInfo endpoint:
 * a token that also names another resource server has been shown to it, and that server could
 * otherwise replay it here (read the user's claims, approve the user's sign-ins).
 */
function checkAudience(payload: JWTPayload, accepted: readonly string[]): void {
  const audiences = typeof payload.aud === "string" ? [payload.aud] : (payload.aud ?? []);
  if (audiences.length === 0 || audiences.some((audience) => !accepted.includes(audience))) {
    throw new InvalidToken("the access token is not meant for this endpoint (aud)");
  }
}
