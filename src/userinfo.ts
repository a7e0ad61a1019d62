/**
 * The UserInfo endpoint (OpenID Connect Core §5.3). Takes one of our access tokens as a Bearer
 * token (RFC 6750 §2.1) — over the same client certificate when the token is bound to one
 * (RFC 8705 §3) — requires the `openid` scope and a user subject, and returns the claims the
 * token's scopes release.
 */
import type { Context } from "hono";
import type { AppEnv } from "./http/app-env";
import { NO_STORE } from "./http/boundary";
import { requestContext } from "./http/context";
import { InsufficientScope, InvalidRequest, InvalidToken } from "./http/errors";
import { certificateBindingHolds } from "./mtls/bound-tokens";
import { verifyAccessToken } from "./tokens/jwt";
import { loadKeys } from "./tokens/keys";
import { claimsFor, UserStore } from "./users/store";

export async function userinfoEndpoint(c: Context<AppEnv>): Promise<Response> {
  const ctx = requestContext(c);
  const token = bearerToken(ctx.request.headers.get("authorization"));
  const keys = await loadKeys(ctx.env.SIGNING_KEYS);
  const verified = await verifyAccessToken(keys, token, ctx.settings.issuer);
  if (!verified) throw new InvalidToken("the access token is invalid or expired");
  if (!(await certificateBindingHolds(ctx, verified.payload))) {
    throw new InvalidToken("the access token is bound to a client certificate that was not presented");
  }
  if (!verified.scope.includes("openid")) throw new InsufficientScope("the openid scope is required");
  const user = await new UserStore(ctx.env.DB).findBySubject(verified.sub);
  if (!user) throw new InvalidToken("the access token does not identify a user");
  return c.json(claimsFor(user, verified.scope), 200, { ...NO_STORE });
}

function bearerToken(header: string | null): string {
  if (!header) throw new InvalidToken("a Bearer access token is required");
  const match = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i.exec(header.trim());
  if (!match?.[1]) throw new InvalidRequest("the Authorization header must be Bearer <token>", 400);
  return match[1];
}
