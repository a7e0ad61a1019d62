/**
 * The client_credentials grant (RFC 6749 §4.4): the client acts on its own behalf, so the
 * access token's `sub` is the client_id and no user-related scope (openid, offline_access) can
 * be granted. Without a `scope` parameter the client gets all of its registered API scopes.
 */
import type { AuthenticatedClient } from "../clients/authenticate";
import { AUTHENTICATOR_SCOPE, type Client, clientScopes } from "../clients/metadata";
import type { RequestContext } from "../context";
import { tokenTypeFor } from "../dpop/binding";
import { InvalidScope } from "../errors";
import type { FormParams } from "../params/form-params";
import { confirmationOf } from "../tokens/issue";
import { mintAccessToken } from "../tokens/jwt";
import { loadKeys } from "../tokens/keys";
import type { TokenResponse } from "./token-response";

const USER_SCOPES = ["openid", "offline_access", "profile", "email", "phone", AUTHENTICATOR_SCOPE];

export async function clientCredentialsGrant(
  ctx: RequestContext,
  client: AuthenticatedClient,
  form: FormParams,
): Promise<TokenResponse> {
  const scope = grantedScopes(client, form.get("scope"));
  const keys = await loadKeys(ctx);
  const lifetime = ctx.settings.accessTokenTtl;
  const cnf = confirmationOf(client);
  const accessToken = await mintAccessToken(keys, {
    issuer: ctx.settings.issuer,
    subject: client.client_id,
    clientId: client.client_id,
    audience: ctx.settings.issuer,
    scope: scope.join(" "),
    lifetime,
    // RFC 8705 §3.1 and RFC 9449 §6.1: bound to the client's certificate or DPoP key.
    claims: cnf ? { cnf } : undefined,
  });
  const response: TokenResponse = {
    access_token: accessToken,
    token_type: tokenTypeFor(client.dpopJkt),
    expires_in: lifetime,
  };
  if (scope.length > 0) response.scope = scope.join(" ");
  return response;
}

function grantedScopes(client: Client, requested: string | undefined): string[] {
  const allowed = clientScopes(client).filter((s) => !USER_SCOPES.includes(s));
  if (requested === undefined) return allowed;
  const scopes = [...new Set(requested.split(" ").filter(Boolean))];
  const refused = scopes.filter((s) => !allowed.includes(s));
  if (refused.length > 0) {
    throw new InvalidScope(`scope not allowed for client_credentials: ${refused.join(" ").slice(0, 200)}`);
  }
  return scopes;
}
