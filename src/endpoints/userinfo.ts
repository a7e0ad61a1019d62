/**
 * The UserInfo endpoint (OpenID Connect Core §5.3). Takes one of our access tokens as a Bearer
 * token (RFC 6750 §2.1) or with a DPoP proof (RFC 9449 §7) — over the same client certificate when the token is bound to one
 * (RFC 8705 §3) — requires the `openid` scope, an audience of this provider (the issuer or this
 * endpoint) and a user subject, and returns the claims the token's scopes release.
 */
import type { Context } from "hono";
import { DPOP_NONCE_HEADER } from "../dpop/errors";
import type { AppEnv } from "../http/app-env";
import { NO_STORE } from "../http/boundary";
import { requestContext } from "../http/context";
import { ownEndpointAudiences } from "../params/resource-indicators";
import { endpointUrls } from "../routes";
import { acceptPresentedAccessToken } from "../tokens/bearer";
import { claimsFor } from "../users/user";

export async function userinfoEndpoint(c: Context<AppEnv>): Promise<Response> {
  const ctx = requestContext(c);
  const { token, dpopNonce } = await acceptPresentedAccessToken(ctx, {
    scope: "openid",
    audiences: ownEndpointAudiences(ctx.settings.issuer, endpointUrls(ctx.settings.issuer).userinfo),
  });
  const headers: Record<string, string> = { ...NO_STORE };
  if (dpopNonce !== undefined) headers[DPOP_NONCE_HEADER] = dpopNonce;
  return c.json(claimsFor(token.user, token.scope), 200, headers);
}
