/**
 * Token revocation (RFC 7009), without HTTP. Pipeline:
 *   refresh token → revokeRefreshToken: the family, and the grant's access tokens with it (§2.1:
 *                   "SHOULD also invalidate all access tokens based on the same authorization
 *                   grant")
 *   access token  → verifyAccessToken → ownToken → its grant (revoked_grants, which also ends the
 *                   grant's refresh-token family), or, for a token without a grant
 *                   (client_credentials), the token itself by jti (revoked_access_tokens)
 * An unknown, expired, malformed or already revoked token is not an error (§2.2: "invalid tokens
 * do not cause an error response"). `token_type_hint` is ignored (§2.1: the server MAY ignore
 * it): a refresh token and a JWT cannot be mistaken for one another.
 *
 * A token issued to another client is refused with invalid_request and nothing changes. §2.1:
 * the server "verifies whether the token was issued to the client making the revocation request.
 * If this validation fails, the request is refused and the client is informed of the error";
 * node-oidc-provider's default policy answers a confidential client the same way
 * (InvalidRequest "client is not authorized to revoke the presented token"), and every edge-op
 * client is confidential.
 */
import type { Client } from "../clients/metadata";
import type { RequestContext } from "../context";
import { InvalidRequest } from "../errors";
import { verifyAccessToken } from "../tokens/jwt";
import { loadKeys } from "../tokens/keys";
import { looksLikeRefreshToken, revokeRefreshToken } from "../tokens/refresh-tokens";
import { revokeAccessToken } from "../tokens/revoked-access-tokens";
import { revokeGrant } from "../tokens/revoked-grants";

class NotYourToken extends InvalidRequest {
  constructor() {
    super("client is not authorized to revoke the presented token");
  }
}

export async function revokeToken(ctx: RequestContext, caller: Client, token: string): Promise<void> {
  if (looksLikeRefreshToken(token)) {
    if ((await revokeRefreshToken(ctx, token, caller.client_id)) === "foreign") throw new NotYourToken();
    return;
  }
  const verified = await verifyAccessToken(await loadKeys(ctx), token, ctx.settings.issuer);
  if (!verified) return;
  if (verified.client_id !== caller.client_id) throw new NotYourToken();
  const { grant_id: grantId, jti, exp } = verified.payload;
  if (typeof grantId === "string") {
    await revokeGrant(ctx.env.DB, grantId, "revocation", ctx.settings);
  } else if (typeof jti === "string" && typeof exp === "number") {
    await revokeAccessToken(ctx.env.DB, { jti, clientId: caller.client_id, expiresAt: exp });
  }
}
