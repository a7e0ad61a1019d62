/**
 * A token request (RFC 6749 §3.2), without HTTP. Pipeline: authenticateClient → grantFor →
 * checkGrantAllowed → dpopProofStep (RFC 9449 §5) → the grant's own handler. Every grant returns the JSON body of a
 * successful token response; errors are thrown, and the token endpoint
 * (src/endpoints/token.ts) renders both.
 */
import { authenticateClient } from "../clients/authenticate";
import { type Client, GRANT_TYPES } from "../clients/metadata";
import type { RequestContext } from "../context";
import { UnauthorizedClient, UnsupportedGrantType } from "../errors";
import type { FormParams } from "../params/form-params";
import { endpointUrls } from "../routes";
import { authorizationCodeGrant } from "./authorization-code";
import { cibaGrant } from "./ciba";
import { clientCredentialsGrant } from "./client-credentials";
import { dpopProofStep } from "./dpop-step";
import { refreshTokenGrant } from "./refresh-token";
import type { GrantHandler, TokenResponse } from "./token-response";

const GRANTS: Record<string, GrantHandler> = {
  [GRANT_TYPES.clientCredentials]: clientCredentialsGrant,
  [GRANT_TYPES.authorizationCode]: authorizationCodeGrant,
  [GRANT_TYPES.ciba]: cibaGrant,
  [GRANT_TYPES.refreshToken]: refreshTokenGrant,
};

/** The grant types this token endpoint implements, for discovery. */
export const SUPPORTED_GRANT_TYPES = Object.keys(GRANTS);

/** The token response and, when DPoP nonces are in use, the nonce to send next (RFC 9449 §8.2). */
export interface TokenRequestResult {
  body: TokenResponse;
  dpopNonce?: string;
}

export async function tokenRequest(ctx: RequestContext, form: FormParams): Promise<TokenRequestResult> {
  const authenticated = await authenticateClient(ctx, form, endpointUrls(ctx.settings.issuer).token);
  const grantType = form.require("grant_type");
  const grant = grantFor(grantType);
  checkGrantAllowed(authenticated, grantType);
  const { client, nextNonce } = await dpopProofStep(ctx, authenticated);
  const body = await grant(ctx, client, form);
  return nextNonce === undefined ? { body } : { body, dpopNonce: nextNonce };
}

function grantFor(grantType: string): GrantHandler {
  const grant = Object.hasOwn(GRANTS, grantType) ? GRANTS[grantType] : undefined;
  if (!grant) throw new UnsupportedGrantType(`grant_type ${grantType.slice(0, 100)} is not supported`);
  return grant;
}

function checkGrantAllowed(client: Client, grantType: string): void {
  if (!client.grant_types.includes(grantType)) {
    throw new UnauthorizedClient(`client is not allowed the ${grantType} grant`);
  }
}
