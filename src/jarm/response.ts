/**
 * JWT Secured Authorization Response Mode (JARM), as FAPI 2.0 Message Signing uses it for
 * authorization responses: instead of `code`, `state` and `iss` in the redirect's query, the
 * client receives one parameter, `response`, a JWT signed with the provider's key that holds
 * them together with `iss`, `aud` (the client) and a short `exp`. The client can then tell that
 * the response came from this provider, for it, and was not altered on the way.
 *
 * Only response_type=code is served here, so only the query encodings: `jwt` (the default
 * encoding for code, JARM §2.3.4) and `query.jwt` (§2.3.1). Responses are signed, not encrypted.
 */
import { SignJWT } from "jose";
import { InvalidRequest, UnauthorizedClient } from "../errors";
import type { KeySet, SigningKey } from "../tokens/keys";

/** JARM §2.3: the response modes this module serves, for `response_modes_supported`. */
export const JARM_RESPONSE_MODES = ["jwt", "query.jwt"] as const;

/** JARM §2.1 recommends at most 10 minutes; the code inside lives 60 s at most (FAPI 2.0). */
export const DEFAULT_RESPONSE_LIFETIME = 60;

/**
 * JARM §2.3: how the response to a response_type=code request is encoded. "query.jwt" for `jwt`
 * and `query.jwt`; undefined for a plain response (no response_mode, or `query`). Other modes
 * (fragment.jwt, form_post.jwt, form_post, fragment) are not offered: invalid_request.
 */
export function jarmResponseMode(responseMode: string | undefined): "query.jwt" | undefined {
  if (responseMode === undefined || responseMode === "query") return undefined;
  if (responseMode === "jwt" || responseMode === "query.jwt") return "query.jwt";
  throw new InvalidRequest("response_mode must be query, jwt or query.jwt");
}

/**
 * JARM §3 (`authorization_signed_response_alg`) and §4 (`authorization_signing_alg_values_supported`):
 * the provider key that signs this client's responses: the first key of the registered alg, or
 * the active key when the client registered none (discovery lists the active key's alg, which
 * clients such as openid-client then accept). A registered alg with no key is a registration
 * this provider cannot serve: unauthorized_client (registration should have refused it).
 */
export function jarmSigningKey(keys: KeySet, registeredAlg: string | undefined): SigningKey {
  if (registeredAlg === undefined || keys.active.alg === registeredAlg) return keys.active;
  const key = keys.signers.find((candidate) => candidate.alg === registeredAlg);
  if (!key) throw new UnauthorizedClient(`this provider has no ${registeredAlg} key to sign authorization responses`);
  return key;
}

export interface AuthorizationResponseInput {
  issuer: string;
  clientId: string;
  /**
   * The parameters of the response: `code` and `state` (RFC 6749 §4.1.2), or `error`,
   * `error_description` and `state` (§4.1.2.1). Undefined members are left out.
   */
  params: Readonly<Record<string, string | undefined>>;
  /** Seconds until `exp`; DEFAULT_RESPONSE_LIFETIME unless the deployment sets another. */
  lifetime?: number;
}

/**
 * JARM §2.1: the response JWT: the response's parameters plus `iss` (the issuer), `aud` (the
 * client_id) and `exp`, all three required; `iat` too. The parameters cannot replace those
 * three: they are set last. The header names the key (`kid`) so clients find it in /jwks.
 */
export async function signAuthorizationResponse(key: SigningKey, input: AuthorizationResponseInput): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(input.params)) if (value !== undefined) claims[name] = value;
  claims.iss = input.issuer;
  claims.aud = input.clientId;
  claims.iat = now;
  claims.exp = now + (input.lifetime ?? DEFAULT_RESPONSE_LIFETIME);
  return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid }).sign(key.privateKey);
}

/**
 * JARM §2.3.1 (query.jwt): the redirect URI with the one parameter `response` added to its
 * query (keeping the query the client registered). Nothing else goes beside it: `iss` is inside
 * the JWT, where RFC 9207 lets a JWT response carry it.
 */
export function jarmRedirectUrl(redirectUri: string, responseJwt: string): string {
  const url = new URL(redirectUri);
  url.searchParams.set("response", responseJwt);
  return url.toString();
}

/** The three steps together: the URL to send the browser to with a signed authorization response. */
export async function jarmRedirect(
  keys: KeySet,
  registeredAlg: string | undefined,
  redirectUri: string,
  input: AuthorizationResponseInput,
): Promise<string> {
  return jarmRedirectUrl(redirectUri, await signAuthorizationResponse(jarmSigningKey(keys, registeredAlg), input));
}
