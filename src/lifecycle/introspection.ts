/**
 * Token introspection (RFC 7662), without HTTP: whether a token is active, and what it says,
 * for an authenticated client. Pipeline:
 *   refresh token → inspectRefreshToken (current token of a live family, grant not revoked)
 *                 → the client it was issued to, only, and not a later one with its id
 *   access token  → verifyAccessToken (signature, issuer, typ, exp)
 *                 → mayIntrospectAccessToken (its own client, or a resource server it names in aud)
 *                 → notRevoked (revoked_grants by grant_id, revoked_access_tokens by jti)
 *                 → tokenClientRegistered (its client not removed or disabled, RFC 7592 §2.3)
 *                 → userStillExists (tokens of a user grant)
 * Whatever fails, the answer is `{"active": false}` and nothing else (§2.2: "the authorization
 * server MAY respond … with only an 'active' field"), so that a caller learns nothing about a
 * token it may not see, and nobody learns why a token is inactive.
 *
 * Who may introspect what (§4: "the authorization server … SHOULD determine whether or not the
 * protected resource is allowed to introspect the token"): the client a token was issued to, and
 * a client registered with `introspection_resources` (a resource server) for access tokens whose
 * `aud` names one of those resources. Refresh tokens are shown to their own client only: a
 * resource server never receives them.
 */

import type { JWTPayload } from "jose";
import type { Client } from "../clients/metadata";
import type { RequestContext } from "../context";
import { boundJktOf } from "../dpop/binding";
import type { UserGrant } from "../tokens/grant";
import { verifyAccessToken } from "../tokens/jwt";
import { type KeySet, loadKeys } from "../tokens/keys";
import { familyPredatesClient, inspectRefreshToken, looksLikeRefreshToken } from "../tokens/refresh-tokens";
import { isAccessTokenRevoked } from "../tokens/revoked-access-tokens";
import { isGrantRevoked } from "../tokens/revoked-grants";
import { tokenClientRegistered } from "../tokens/token-client";

/** RFC 7662 §2.2. `active` is the only member of an inactive token's answer. */
export type IntrospectionResponse = { active: false } | ({ active: true } & Record<string, unknown>);

const INACTIVE: IntrospectionResponse = { active: false };

/** The claims of an access token an introspection answer repeats (RFC 7662 §2.2, RFC 9396 §9.1). */
const ACCESS_TOKEN_MEMBERS = [
  "scope",
  "client_id",
  "sub",
  "aud",
  "iss",
  "exp",
  "iat",
  "nbf",
  "jti",
  "cnf",
  "authorization_details",
  "acr",
  "auth_time",
] as const;

export async function introspectToken(
  ctx: RequestContext,
  caller: Client,
  token: string,
): Promise<IntrospectionResponse> {
  if (looksLikeRefreshToken(token)) return introspectRefreshToken(ctx, caller, token);
  const keys = await loadKeys(ctx);
  return introspectAccessToken(ctx, keys, caller, token);
}

async function introspectRefreshToken(ctx: RequestContext, caller: Client, token: string) {
  const found = await inspectRefreshToken(ctx, token);
  if (!found || found.grant.clientId !== caller.client_id) return INACTIVE;
  // The caller is the token's client: one registered again under a removed client's id is not.
  if (familyPredatesClient(found.grant, caller)) return INACTIVE;
  return refreshTokenResponse(ctx, found.grant, found.expiresAt);
}

function refreshTokenResponse(ctx: RequestContext, grant: UserGrant, expiresAt: number): IntrospectionResponse {
  const response: IntrospectionResponse = {
    active: true,
    token_type: "refresh_token",
    scope: grant.scopes.join(" "),
    client_id: grant.clientId,
    sub: grant.subject,
    iss: ctx.settings.issuer,
    exp: expiresAt,
    auth_time: grant.authTime,
  };
  if (grant.resources.length > 0) response.aud = grant.resources;
  // RFC 8705 §3: a family started over mTLS is bound to that certificate.
  if (grant.certificateThumbprint) response.cnf = { "x5t#S256": grant.certificateThumbprint };
  return response;
}

async function introspectAccessToken(ctx: RequestContext, keys: KeySet, caller: Client, token: string) {
  const verified = await verifyAccessToken(keys, token, ctx.settings.issuer);
  if (!verified) return INACTIVE;
  const { payload } = verified;
  if (!mayIntrospectAccessToken(caller, payload)) return INACTIVE;
  if (await isRevoked(ctx, payload)) return INACTIVE;
  // RFC 7592 §2.3: the tokens of a removed or disabled client (a resource server may ask).
  if (!(await tokenClientRegistered(ctx, payload.client_id, payload.iat))) return INACTIVE;
  // A token of a user grant whose user is gone describes no one any more.
  if (typeof payload.grant_id === "string" && !(await ctx.stores.users.findBySubject(verified.sub))) return INACTIVE;
  const response: IntrospectionResponse = { active: true };
  for (const member of ACCESS_TOKEN_MEMBERS) {
    if (payload[member] !== undefined) response[member] = payload[member];
  }
  // RFC 7662 §2.2 token_type: the type the token is used with (RFC 9449 §6.2: DPoP when bound).
  response.token_type = boundJktOf(payload.cnf) === undefined ? "Bearer" : "DPoP";
  return response;
}

/** RFC 7662 §4: the token's own client, or a resource server named in its `aud`. */
export function mayIntrospectAccessToken(caller: Client, payload: JWTPayload): boolean {
  if (payload.client_id === caller.client_id) return true;
  const served = caller.introspection_resources ?? [];
  const audiences = typeof payload.aud === "string" ? [payload.aud] : (payload.aud ?? []);
  return audiences.some((audience) => served.includes(audience));
}

/** Revoked with its grant (reuse, revocation, sign-out) or on its own (RFC 7009, no grant). */
async function isRevoked(ctx: RequestContext, payload: JWTPayload): Promise<boolean> {
  if (typeof payload.grant_id === "string" && (await isGrantRevoked(ctx.env.DB, payload.grant_id))) return true;
  return typeof payload.jti === "string" && (await isAccessTokenRevoked(ctx.env.DB, payload.jti));
}
