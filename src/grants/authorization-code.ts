/**
 * The authorization_code grant (RFC 6749 §4.1.3) with PKCE S256 (RFC 7636 §4.6). The code's
 * object checks client, redirect_uri and the verifier, then consumes the code in one step. A
 * reused code is refused, and the tokens the first exchange produced are revoked (RFC 6749
 * §4.1.2): its refresh-token family, and its grant, which this provider's resource endpoints
 * then refuse access tokens of (src/tokens/revoked-grants.ts).
 */

import { attachRefreshFamily, redeemCode } from "../authorize/codes";
import type { AuthenticatedClient } from "../clients/authenticate";
import { base64url } from "../crypto/encoding";
import { sha256 } from "../crypto/hash";
import type { RequestContext } from "../http/context";
import { InvalidGrant } from "../http/errors";
import type { FormParams } from "../http/form";
import { issueUserTokens } from "../tokens/issue";
import { familyIdOf, revokeRefreshFamily } from "../tokens/refresh-tokens";
import { revokeGrant } from "../tokens/revoked-grants";
import type { TokenResponse } from "./token-endpoint";

const REASONS = {
  unknown: "the authorization code is not valid",
  expired: "the authorization code has expired",
  wrong_redirect_uri: "redirect_uri does not match the authorization request",
  wrong_verifier: "code_verifier does not match the code_challenge",
  reused: "the authorization code was already used; tokens issued from it are revoked",
} as const;

export async function authorizationCodeGrant(
  ctx: RequestContext,
  client: AuthenticatedClient,
  form: FormParams,
): Promise<TokenResponse> {
  const code = form.require("code");
  const redirectUri = form.require("redirect_uri");
  const challenge = await challengeOf(form.get("code_verifier"));
  const redemption = await redeemCode(ctx.env, code, client.client_id, redirectUri, challenge);
  if (!redemption.ok) {
    if (redemption.reason === "reused") {
      console.warn(JSON.stringify({ event: "authorization_code_reuse", client_id: client.client_id }));
      await Promise.all([
        redemption.grantId &&
          revokeGrant(ctx.env.DB, redemption.grantId, "authorization_code_reuse", ctx.settings.accessTokenTtl),
        redemption.refreshFamily && revokeRefreshFamily(ctx.env, redemption.refreshFamily),
      ]);
    }
    throw new InvalidGrant(REASONS[redemption.reason]);
  }
  const tokens = await issueUserTokens(ctx, client, redemption.grant, { nonce: redemption.nonce });
  if (tokens.refresh_token) await attachRefreshFamily(ctx.env, code, familyIdOf(tokens.refresh_token));
  return tokens;
}

/** RFC 7636 §4.1 verifier syntax; a missing or malformed one fails like a wrong one. */
async function challengeOf(verifier: string | undefined): Promise<string> {
  if (!verifier || !/^[A-Za-z0-9\-._~]{43,128}$/.test(verifier)) {
    throw new InvalidGrant("code_verifier is missing or malformed");
  }
  return base64url(await sha256(verifier));
}
