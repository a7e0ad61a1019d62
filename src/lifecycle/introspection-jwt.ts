/**
 * JWT Response for OAuth Token Introspection (RFC 9701): when the caller asks for
 * `application/token-introspection+jwt` (§4), the answer is a JWT signed with the provider's
 * active signing key (the keys at jwks_uri), typed `token-introspection+jwt`, with `iss`, `aud`
 * (the calling client), `iat` and the RFC 7662 answer in `token_introspection` (§5). Responses
 * are signed, not encrypted: edge-op supports no introspection encryption.
 */
import type { RequestContext } from "../context";
import { signJwt } from "../tokens/jwt";
import { loadKeys } from "../tokens/keys";
import type { IntrospectionResponse } from "./introspection";

/** RFC 9701 §4: the media type of the JWT response, and its JWS `typ` (§5). */
export const INTROSPECTION_JWT_TYPE = "application/token-introspection+jwt";

/** Whether the Accept header asks for the JWT response (RFC 9701 §4). */
export function wantsIntrospectionJwt(accept: string | null): boolean {
  if (!accept) return false;
  return accept
    .split(",")
    .map((range) => range.split(";")[0]?.trim().toLowerCase())
    .includes(INTROSPECTION_JWT_TYPE);
}

export async function signIntrospectionResponse(
  ctx: RequestContext,
  clientId: string,
  response: IntrospectionResponse,
): Promise<string> {
  const keys = await loadKeys(ctx);
  return signJwt(
    keys,
    {
      iss: ctx.settings.issuer,
      aud: clientId,
      iat: Math.floor(Date.now() / 1000),
      token_introspection: response,
    },
    "token-introspection+jwt",
  );
}
