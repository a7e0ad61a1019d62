/**
 * The refresh_token grant (RFC 6749 §6). Pipeline: requestedScopes → rotateRefreshToken (which
 * also holds a certificate-bound family to its certificate, RFC 8705 §3) → issueUserTokens. Every refresh rotates the refresh token (OAuth 2.0 Security BCP §4.14.2);
 * `scope` may only narrow the original grant, and narrows this response's tokens only: the
 * family keeps its original scopes for later refreshes (RFC 6749 §6).
 */
import { isFapi2 } from "../clients/fapi2";
import { InvalidScope } from "../errors";
import type { FormParams } from "../params/form-params";
import { issueUserTokens } from "../tokens/issue";
import { rotateRefreshToken } from "../tokens/refresh-tokens";
import type { GrantHandler } from "./token-response";

export const refreshTokenGrant: GrantHandler = async (ctx, client, form) => {
  const presented = form.require("refresh_token");
  const requested = requestedScopes(form);
  // RFC 8705 §3: a family started with a client certificate is refreshed with the same one.
  const { grant, refreshToken } = await rotateRefreshToken(
    ctx,
    presented,
    client,
    requested,
    client.certificateThumbprint,
    // FAPI 2.0 §5.3.2.1: no rotation for fapi2 clients ("except in extraordinary circumstances").
    isFapi2(client),
  );
  // Keep the grant's order so the narrowed `scope` reads like the original.
  const scopes = requested ? grant.scopes.filter((scope) => requested.includes(scope)) : grant.scopes;
  return issueUserTokens(ctx, client, { ...grant, scopes }, { refreshToken });
};

/** The `scope` parameter as a list, or undefined when absent (RFC 6749 §6: then the original scope). */
function requestedScopes(form: FormParams): string[] | undefined {
  const scope = form.get("scope");
  if (scope === undefined) return undefined;
  const scopes = [...new Set(scope.split(" ").filter(Boolean))];
  if (scopes.length === 0) throw new InvalidScope("scope must name at least one scope");
  return scopes;
}
