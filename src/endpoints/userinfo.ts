/**
 * The UserInfo endpoint (OpenID Connect Core §5.3). Takes one of our access tokens as a Bearer
 * token (RFC 6750 §2.1) — over the same client certificate when the token is bound to one
 * (RFC 8705 §3) — requires the `openid` scope, an audience of this provider (the issuer or this
 * endpoint) and a user subject, and returns the claims the token's scopes release.
 */
import type { Context } from "hono";
import type { AppEnv } from "../http/app-env";
import { NO_STORE } from "../http/boundary";
import { requestContext } from "../http/context";
import { ownEndpointAudiences } from "../params/resource-indicators";
import { endpointUrls } from "../routes";
import { acceptAccessToken, bearerTokenOf } from "../tokens/bearer";
import { claimsFor } from "../users/user";

export async function userinfoEndpoint(c: Context<AppEnv>): Promise<Response> {
  const ctx = requestContext(c);
  const token = await acceptAccessToken(ctx, bearerTokenOf(ctx.request.headers.get("authorization")), {
    scope: "openid",
    audiences: ownEndpointAudiences(ctx.settings.issuer, endpointUrls(ctx.settings.issuer).userinfo),
  });
  return c.json(claimsFor(token.user, token.scope), 200, { ...NO_STORE });
}
