/**
 * An operator client's access token for the console's JSON API: a client_credentials token
 * (its `sub` is its own client_id) carrying the `admin` scope. The resource endpoints' pipeline
 * (src/tokens/bearer.ts) accepts user tokens only, so the API checks a client's token here with
 * the same building blocks, in the same order: signature, issuer and type (RFC 9068); an
 * audience that is this API or the issuer (RFC 9068 §4); the certificate of a bound token
 * (RFC 8705 §3); a token revoked on its own (RFC 7009); a client still registered (RFC 7592
 * §2.3); the scope. Bearer only: a DPoP-bound token (cnf.jkt) is refused, since the API takes
 * no DPoP proofs yet.
 */
import type { RequestContext } from "../context";
import { InsufficientScope, InvalidToken } from "../errors";
import { certificateBindingHolds } from "../mtls/bound-tokens";
import { verifyAccessToken } from "../tokens/jwt";
import { loadKeys } from "../tokens/keys";
import { isAccessTokenRevoked } from "../tokens/revoked-access-tokens";
import { tokenClientRegistered } from "../tokens/token-client";

export async function acceptOperatorToken(
  ctx: RequestContext,
  token: string,
  required: { scope: string; audiences: readonly string[] },
): Promise<{ clientId: string }> {
  const verified = await verifyAccessToken(await loadKeys(ctx), token, ctx.settings.issuer);
  if (!verified) throw new InvalidToken("the access token is invalid or expired");
  const aud = verified.payload.aud;
  const audiences = typeof aud === "string" ? [aud] : (aud ?? []);
  if (audiences.length === 0 || audiences.some((a) => !required.audiences.includes(a))) {
    throw new InvalidToken("the access token is not meant for this endpoint (aud)");
  }
  const cnf = verified.payload.cnf;
  if (typeof cnf === "object" && cnf !== null && "jkt" in cnf) {
    throw new InvalidToken("DPoP-bound tokens are not accepted by the admin API");
  }
  if (!(await certificateBindingHolds(ctx, verified.payload))) {
    throw new InvalidToken("the access token is bound to a client certificate that was not presented");
  }
  if (typeof verified.payload.jti === "string" && (await isAccessTokenRevoked(ctx.env.DB, verified.payload.jti))) {
    throw new InvalidToken("the access token has been revoked");
  }
  // A removed or disabled operator client's token stops with it (RFC 7592 §2.3), not at its exp.
  if (!(await tokenClientRegistered(ctx, verified.client_id, verified.payload.iat))) {
    throw new InvalidToken("the access token's client is no longer registered");
  }
  if (!verified.scope.includes(required.scope)) throw new InsufficientScope(`the ${required.scope} scope is required`);
  // A user's token never carries the admin scope (registration allows it to client_credentials-only
  // clients), but the API says so itself rather than rely on that alone.
  if (verified.sub !== verified.client_id)
    throw new InsufficientScope("the admin API takes operator clients' tokens only");
  return { clientId: verified.client_id };
}
