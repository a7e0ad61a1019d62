/**
 * OpenID Provider metadata (OpenID Connect Discovery §3, RFC 8414). Discovery lists exactly what
 * is implemented: each feature adds its own entries here when it lands, so a client library
 * never tries something the provider cannot do. Served by src/endpoints/discovery.ts.
 */
import { ACR_VALUES_SUPPORTED } from "../authn/acr";
import { ASYMMETRIC_ALGS, AUTH_METHODS, DELIVERY_MODES, HMAC_ALGS } from "../clients/metadata";
import type { Settings } from "../config";
import { SUPPORTED_GRANT_TYPES } from "../grants/token-request";
import { endpointUrls } from "../routes";

/**
 * `authorizationDetailsTypes`: the provider's registry's types (the settings' and those given in
 * code, createProvider's `authorizationDetailsTypes`); the settings' alone when not given.
 * `endSession`: whether /end-session is served (not by a provider without its pages).
 */
export function providerMetadata(
  settings: Settings,
  signingAlgs: string[],
  authorizationDetailsTypes?: readonly string[],
  served: { endSession: boolean } = { endSession: true },
): Record<string, unknown> {
  const urls = endpointUrls(settings.issuer);
  return {
    issuer: settings.issuer,
    authorization_endpoint: urls.authorization,
    token_endpoint: urls.token,
    pushed_authorization_request_endpoint: urls.pushedAuthorizationRequest,
    require_pushed_authorization_requests: settings.requirePushedAuthorizationRequests,
    backchannel_authentication_endpoint: urls.backchannelAuthentication,
    jwks_uri: urls.jwks,
    userinfo_endpoint: urls.userinfo,
    // RFC 7662 / RFC 7009 (RFC 8414 §2): client-authenticated like the token endpoint.
    introspection_endpoint: urls.introspection,
    introspection_endpoint_auth_methods_supported: [...AUTH_METHODS],
    introspection_endpoint_auth_signing_alg_values_supported: [...ASYMMETRIC_ALGS, ...HMAC_ALGS],
    // RFC 9701 §7: JWT introspection responses are signed with the provider's keys.
    introspection_signing_alg_values_supported: signingAlgs,
    revocation_endpoint: urls.revocation,
    revocation_endpoint_auth_methods_supported: [...AUTH_METHODS],
    revocation_endpoint_auth_signing_alg_values_supported: [...ASYMMETRIC_ALGS, ...HMAC_ALGS],
    // RFC 8414 §2 / RFC 7591: registration with an operator-issued initial access token.
    registration_endpoint: urls.registration,
    scopes_supported: settings.scopesSupported,
    grant_types_supported: SUPPORTED_GRANT_TYPES,
    response_types_supported: ["code"],
    // JARM §4: signed authorization responses (jwt is query.jwt for response_type=code).
    response_modes_supported: ["query", "jwt", "query.jwt"],
    authorization_signing_alg_values_supported: signingAlgs,
    code_challenge_methods_supported: ["S256"],
    prompt_values_supported: ["none", "login", "consent"],
    // OIDC Discovery §3: the classes some sign-in can meet (src/authn/acr.ts); others are never stated.
    acr_values_supported: [...ACR_VALUES_SUPPORTED],
    // RFC 9207: every authorization response carries iss.
    authorization_response_iss_parameter_supported: true,
    // RFC 9101 request objects are accepted at the PAR endpoint only.
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
    request_object_signing_alg_values_supported: [...ASYMMETRIC_ALGS],
    subject_types_supported: ["public"],
    id_token_signing_alg_values_supported: signingAlgs,
    token_endpoint_auth_methods_supported: [...AUTH_METHODS],
    token_endpoint_auth_signing_alg_values_supported: [...ASYMMETRIC_ALGS, ...HMAC_ALGS],
    // CIBA §4: all three delivery modes; signed authentication requests with asymmetric keys only.
    backchannel_token_delivery_modes_supported: [...DELIVERY_MODES],
    backchannel_authentication_request_signing_alg_values_supported: [...ASYMMETRIC_ALGS],
    backchannel_user_code_parameter_supported: true,
    // OpenID RP-Initiated Logout 1.0 §2.1 and Back-Channel Logout 1.0 §2.1: ID tokens and logout
    // tokens carry sid.
    end_session_endpoint: served.endSession ? urls.endSession : undefined,
    backchannel_logout_supported: true,
    backchannel_logout_session_supported: true,
    // RFC 8705: mTLS client authentication and certificate-bound tokens.
    tls_client_certificate_bound_access_tokens: true,
    // RFC 9449 §5.1: DPoP proofs at /token, /par and the resource endpoints.
    dpop_signing_alg_values_supported: [...settings.dpopSigningAlgValues],
    // RFC 9396 §10.1: the authorization_details types accepted at /par, /authorize and /bc-authorize.
    authorization_details_types_supported: authorizationDetailsTypes
      ? [...authorizationDetailsTypes]
      : [
          ...settings.authorizationDetailsBuiltinTypes,
          ...settings.authorizationDetailsTypes.map((definition) => definition.type),
        ],
    mtls_endpoint_aliases: mtlsEndpointAliases(settings),
    claims_supported: [
      "sub",
      "iss",
      "aud",
      "exp",
      "iat",
      "name",
      "given_name",
      "family_name",
      "preferred_username",
      "email",
      "email_verified",
      "phone_number",
      "phone_number_verified",
    ],
  };
}

/**
 * RFC 8705 §5: where clients that authenticate with certificates send their requests. With
 * MTLS_ENDPOINT_ORIGIN, a separate hostname on which Cloudflare asks for client certificates;
 * without it, the normal endpoints (the main hostname asks for them).
 */
function mtlsEndpointAliases(settings: Settings): Record<string, string> {
  const urls = endpointUrls(settings.issuer);
  const origin = settings.mtlsEndpointOrigin;
  const at = (url: string) => (origin ? `${origin}${new URL(url).pathname}` : url);
  return {
    token_endpoint: at(urls.token),
    pushed_authorization_request_endpoint: at(urls.pushedAuthorizationRequest),
    backchannel_authentication_endpoint: at(urls.backchannelAuthentication),
    userinfo_endpoint: at(urls.userinfo),
    introspection_endpoint: at(urls.introspection),
    revocation_endpoint: at(urls.revocation),
  };
}
