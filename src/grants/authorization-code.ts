/**
 * The authorization_code grant (RFC 6749 §4.1.3) with PKCE S256 (RFC 7636 §4.6). The code's
 * object checks client, redirect_uri and the verifier, then consumes the code in one step. A
 * reused code is refused, and the tokens the first exchange produced are revoked (RFC 6749
 * §4.1.2): its refresh-token family, and its grant, which this provider's resource endpoints
 * and the refresh_token grant then refuse (src/tokens/revoked-grants.ts).
 *
 * One atomic story, whatever the timing of a reuse: the consuming step records the grant id and
 * the id of the family this exchange will start, so a reuse always knows what to revoke. A
 * family revoked before it starts cannot start (the first exchange then fails with
 * invalid_grant); one revoked after is dead; access tokens carry the grant id, listed as
 * revoked for as long as any of the grant's tokens can live.
 */

import { redeemCode } from "../authorize/codes";
import type { AuthenticatedClient } from "../clients/authenticate";
import type { RequestContext } from "../context";
import { base64url } from "../crypto/encoding";
import { sha256 } from "../crypto/hash";
import { InvalidGrant } from "../errors";
import { logger } from "../log";
import type { FormParams } from "../params/form-params";
import { issueUserTokens } from "../tokens/issue";
import { revokeRefreshFamily } from "../tokens/refresh-tokens";
import { revokeGrant } from "../tokens/revoked-grants";
import type { TokenResponse } from "./token-response";

const REASONS = {
  unknown: "the authorization code is not valid",
  expired: "the authorization code has expired",
  wrong_redirect_uri: "redirect_uri does not match the authorization request",
  wrong_verifier: "code_verifier does not match the code_challenge",
  reused: "the authorization code was already used; tokens issued from it are revoked",
  // RFC 9449 §10: the code was bound to a DPoP key (dpop_jkt, or the proof sent to /par).
  wrong_dpop_key: "the authorization code is bound to a DPoP key: send a DPoP proof made with it",
} as const;

export async function authorizationCodeGrant(
  ctx: RequestContext,
  client: AuthenticatedClient,
  form: FormParams,
): Promise<TokenResponse> {
  const code = form.require("code");
  const redirectUri = form.require("redirect_uri");
  const challenge = await challengeOf(form.get("code_verifier"));
  const redemption = await redeemCode(ctx.env, code, client.client_id, redirectUri, challenge, client.dpopJkt);
  if (!redemption.ok) {
    if (redemption.reason === "reused") {
      logger.warn("authorization_code_reuse", { client_id: client.client_id });
      await Promise.all([
        redemption.grantId && revokeGrant(ctx.env.DB, redemption.grantId, "authorization_code_reuse", ctx.settings),
        redemption.refreshFamily && revokeRefreshFamily(ctx, redemption.refreshFamily),
      ]);
    }
    throw new InvalidGrant(REASONS[redemption.reason]);
  }
  return issueUserTokens(ctx, client, redemption.grant, {
    nonce: redemption.nonce,
    refreshFamilyId: redemption.refreshFamilyId,
  });
}

/** RFC 7636 §4.1 verifier syntax; a missing or malformed one fails like a wrong one. */
async function challengeOf(verifier: string | undefined): Promise<string> {
  if (!verifier || !/^[A-Za-z0-9\-._~]{43,128}$/.test(verifier)) {
    throw new InvalidGrant("code_verifier is missing or malformed");
  }
  return base64url(await sha256(verifier));
}
