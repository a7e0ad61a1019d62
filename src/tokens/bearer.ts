/**
 * Accepting this provider's own access tokens at its own resource endpoints (/userinfo, the
 * authenticator API), as a Bearer token (RFC 6750 §2.1). One pipeline, so both endpoints
 * refuse the same tokens: signature, issuer and type (RFC 9068), the client certificate of a
 * bound token (RFC 8705 §3), a revoked grant, the endpoint's scope, and a user who still exists.
 */
import type { RequestContext } from "../http/context";
import { InsufficientScope, InvalidRequest, InvalidToken } from "../http/errors";
import { certificateBindingHolds } from "../mtls/bound-tokens";
import { type User, UserStore } from "../users/store";
import { type VerifiedAccessToken, verifyAccessToken } from "./jwt";
import { loadKeys } from "./keys";
import { isGrantRevoked } from "./revoked-grants";

export interface AcceptedAccessToken extends VerifiedAccessToken {
  user: User;
}

/** The token in `Authorization: Bearer <token>`; a malformed header is invalid_request (RFC 6750 §3.1). */
export function bearerTokenOf(header: string): string {
  const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(header.trim());
  if (!match?.[1]) throw new InvalidRequest("the Authorization header must be Bearer <access token>", 400);
  return match[1];
}

/**
 * Throws invalid_token (401), or insufficient_scope (403) without `requiredScope`, for a token
 * this endpoint must refuse.
 */
export async function acceptAccessToken(
  ctx: RequestContext,
  token: string,
  requiredScope: string,
): Promise<AcceptedAccessToken> {
  const keys = await loadKeys(ctx.env.SIGNING_KEYS);
  const verified = await verifyAccessToken(keys, token, ctx.settings.issuer);
  if (!verified) throw new InvalidToken("the access token is invalid or expired");
  if (!(await certificateBindingHolds(ctx, verified.payload))) {
    throw new InvalidToken("the access token is bound to a client certificate that was not presented");
  }
  const grantId = verified.payload.grant_id;
  if (typeof grantId === "string" && (await isGrantRevoked(ctx.env.DB, grantId))) {
    throw new InvalidToken("the access token has been revoked");
  }
  if (!verified.scope.includes(requiredScope)) throw new InsufficientScope(`the ${requiredScope} scope is required`);
  const user = await new UserStore(ctx.env.DB).findBySubject(verified.sub);
  if (!user) throw new InvalidToken("the access token does not identify a user");
  return { ...verified, user };
}
