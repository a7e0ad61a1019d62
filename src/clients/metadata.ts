/**
 * Client metadata (RFC 7591 §2, OpenID Connect Registration, CIBA §4) and the rules a
 * registration must meet. The admin tool and the dev seed both go through
 * `validateClientRegistration`, so a client in D1 is always one the provider can serve.
 */

import { destinationProblem, nonPublicHost } from "../outbound/public-address";
import { validateFapi2Registration } from "./fapi2";

export const AUTH_METHODS = [
  "client_secret_basic",
  "client_secret_post",
  "client_secret_jwt",
  "private_key_jwt",
  "tls_client_auth",
  "self_signed_tls_client_auth",
] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

export const GRANT_TYPES = {
  clientCredentials: "client_credentials",
  refreshToken: "refresh_token",
  authorizationCode: "authorization_code",
  ciba: "urn:openid:params:grant-type:ciba",
} as const;
const KNOWN_GRANT_TYPES: readonly string[] = Object.values(GRANT_TYPES);

export const DELIVERY_MODES = ["poll", "ping", "push"] as const;
export type DeliveryMode = (typeof DELIVERY_MODES)[number];

/** Asymmetric JWS algorithms accepted for client keys and signed requests. */
export const ASYMMETRIC_ALGS = ["ES256", "PS256", "EdDSA", "RS256"] as const;
/** FAPI-CIBA / FAPI 2.0 (checklist F1): PS256, ES256 and EdDSA only; RS256 is not allowed. */
export const FAPI_ALGS = ["PS256", "ES256", "EdDSA"] as const;
export const HMAC_ALGS = ["HS256", "HS384", "HS512"] as const;

export interface PublicJwk {
  kty: string;
  kid?: string;
  alg?: string;
  use?: string;
  [member: string]: unknown;
}

/** Per-client security profiles: "fapi2" is the FAPI 2.0 Security Profile (docs/fapi.md). */
export const CLIENT_PROFILES = ["fapi2"] as const;
export type ClientProfile = (typeof CLIENT_PROFILES)[number];

/** A registered client as the provider uses it. Secrets appear only as hash or ciphertext. */
export interface Client {
  client_id: string;
  client_name: string;
  token_endpoint_auth_method: AuthMethod;
  token_endpoint_auth_signing_alg?: string;
  grant_types: string[];
  redirect_uris: string[];
  /** Space-separated scopes the client may be given (RFC 7591 §2). */
  scope: string;
  jwks?: { keys: PublicJwk[] };
  jwks_uri?: string;
  backchannel_token_delivery_mode?: DeliveryMode;
  backchannel_client_notification_endpoint?: string;
  backchannel_authentication_request_signing_alg?: string;
  backchannel_user_code_parameter: boolean;
  require_pushed_authorization_requests: boolean;
  request_object_signing_alg?: string;
  ciba_request_lifetime?: number;
  ciba_polling_interval?: number;
  /** edge-op: lifetime of this client's pushed authorization requests, seconds (< 600). */
  par_request_lifetime?: number;
  /** edge-op: the FAPI-CIBA profile applies to this client (docs/ciba.md). */
  fapi_ciba?: boolean;
  /** RFC 8705 §2.1.2: a tls_client_auth client registers exactly one of these. */
  tls_client_auth_subject_dn?: string;
  tls_client_auth_san_dns?: string;
  tls_client_auth_san_uri?: string;
  tls_client_auth_san_ip?: string;
  tls_client_auth_san_email?: string;
  /** RFC 9449 §5.2: the client always uses DPoP at the token endpoint; a request without a proof is refused. */
  dpop_bound_access_tokens?: boolean;
  /** edge-op: "fapi2" puts the client under the FAPI 2.0 Security Profile (docs/fapi.md). */
  profile?: ClientProfile;
  /** RFC 9396 §10: the authorization_details types the client may request. */
  authorization_details_types?: string[];
  /** JARM §3: the client's authorization responses are JWTs signed with this alg. */
  authorization_signed_response_alg?: string;
  /**
   * edge-op (RFC 7662 §4): the resources (absolute URIs) this client serves as a resource
   * server; it may introspect any token whose `aud` names one of them, besides its own tokens.
   */
  introspection_resources?: string[];
  /** RP-Initiated Logout §3.1: where a logout may send the browser back to (exact match). */
  post_logout_redirect_uris?: string[];
  /** Back-Channel Logout §2.2: where logout tokens are POSTed (the notification endpoint rules apply). */
  backchannel_logout_uri?: string;
  client_secret_hash?: string;
  client_secret_encrypted?: string;
  /**
   * RFC 7591 §3.2.1: when this client_id was issued (epoch seconds), as the store knows it. A
   * client removed and registered again under the same id is a new client: a token issued
   * before this time was issued to the old one and is refused (src/tokens/token-client.ts).
   * A store that leaves it out turns that check off.
   */
  client_id_issued_at?: number;
}

/** What an operator registers: the metadata plus, for secret-based methods, the secret itself. */
export type ClientRegistration = Omit<Client, "client_secret_hash" | "client_secret_encrypted"> & {
  client_secret?: string;
};

export class RegistrationError extends Error {
  override name = "RegistrationError";
}

const SECRET_METHODS: readonly AuthMethod[] = ["client_secret_basic", "client_secret_post", "client_secret_jwt"];

export function usesSecret(method: AuthMethod): boolean {
  return SECRET_METHODS.includes(method);
}

/**
 * The scope of the user's authenticator app: its access tokens may list, approve and deny the
 * user's pending CIBA requests (src/api/authenticator-api.ts). Only a client that is not itself a
 * CIBA client may be given it; otherwise a kiosk could approve the requests it starts.
 */
export const AUTHENTICATOR_SCOPE = "ciba:approve";

/**
 * The scope of the console's JSON API (/admin/api, docs/admin-console.md) for operator clients:
 * only a client whose one grant is client_credentials may hold it, so no user's token ever
 * carries it. The provider must list it in SCOPES_SUPPORTED.
 */
export const ADMIN_SCOPE = "admin";

export function clientScopes(client: Pick<Client, "scope">): string[] {
  return client.scope.split(" ").filter(Boolean);
}

export interface ValidationOptions {
  /**
   * Shortest client secret accepted (default 16). Only the local dev seed lowers it, because
   * its well-known demo secrets are fixed by the README; the admin tool generates 256-bit ones.
   */
  minimumSecretLength?: number;
  /** The ALLOW_HTTP_NOTIFICATION_ENDPOINTS setting: http notification endpoints on loopback hosts (development). */
  allowHttpNotificationEndpoints?: boolean;
}

/** Checks a registration against the rules of RFC 7591 and CIBA §4; throws RegistrationError. */
export function validateClientRegistration(
  reg: ClientRegistration,
  scopesSupported: readonly string[],
  options: ValidationOptions = {},
): void {
  const minimumSecretLength = options.minimumSecretLength ?? 16;
  const fail = (message: string): never => {
    throw new RegistrationError(`client ${JSON.stringify(reg.client_id)}: ${message}`);
  };
  if (!/^[A-Za-z0-9._~-]{1,128}$/.test(reg.client_id)) fail("client_id must be 1–128 URL-safe characters");
  if (!AUTH_METHODS.includes(reg.token_endpoint_auth_method)) {
    fail(`token_endpoint_auth_method must be one of ${AUTH_METHODS.join(", ")}`);
  }
  const method = reg.token_endpoint_auth_method;
  if (usesSecret(method)) {
    if (!reg.client_secret || reg.client_secret.length < minimumSecretLength) {
      fail(`a client secret of at least ${minimumSecretLength} characters is required`);
    }
    if (reg.jwks || reg.jwks_uri) fail("a client that authenticates with a secret registers no keys");
  } else {
    if (reg.client_secret) fail(`${method} clients have no secret`);
    const keysNeeded = method === "private_key_jwt" || method === "self_signed_tls_client_auth";
    if (keysNeeded && !reg.jwks === !reg.jwks_uri) fail(`${method} requires exactly one of jwks and jwks_uri`);
  }
  validateTlsIdentity(reg, fail);
  if (reg.jwks) validateJwks(reg.jwks, fail);
  if (reg.jwks_uri) {
    // edge-op fetches it itself (src/clients/jwks-cache.ts): the notification endpoint rules apply.
    const problem = notificationEndpointProblem(reg.jwks_uri, options.allowHttpNotificationEndpoints ?? false);
    if (problem) fail(`jwks_uri ${problem}`);
  }
  if (reg.token_endpoint_auth_signing_alg) {
    const allowed: readonly string[] =
      reg.token_endpoint_auth_method === "client_secret_jwt" ? HMAC_ALGS : ASYMMETRIC_ALGS;
    if (!allowed.includes(reg.token_endpoint_auth_signing_alg)) {
      fail(`token_endpoint_auth_signing_alg must be one of ${allowed.join(", ")}`);
    }
  }
  for (const grant of reg.grant_types) {
    if (!KNOWN_GRANT_TYPES.includes(grant)) fail(`unknown grant type ${grant}`);
  }
  for (const scope of clientScopes(reg)) {
    if (!scopesSupported.includes(scope)) fail(`scope ${scope} is not supported by this provider`);
  }
  for (const uri of reg.redirect_uris) validateRedirectUri(uri, fail);
  if (reg.grant_types.includes(GRANT_TYPES.authorizationCode) && reg.redirect_uris.length === 0) {
    fail("authorization_code clients need at least one redirect_uri");
  }
  if (reg.grant_types.includes(GRANT_TYPES.ciba) && clientScopes(reg).includes(AUTHENTICATOR_SCOPE)) {
    fail(`a CIBA client may not have the ${AUTHENTICATOR_SCOPE} scope: it could approve its own requests`);
  }
  if (
    clientScopes(reg).includes(ADMIN_SCOPE) &&
    (reg.grant_types.length !== 1 || reg.grant_types[0] !== GRANT_TYPES.clientCredentials)
  ) {
    fail(`only operator clients (client_credentials and no other grant) may have the ${ADMIN_SCOPE} scope`);
  }
  validateBackchannel(reg, fail, options.allowHttpNotificationEndpoints ?? false);
  validateLogout(reg, fail, options.allowHttpNotificationEndpoints ?? false);
  validateFapiCiba(reg, fail);
  if (reg.par_request_lifetime !== undefined && !(reg.par_request_lifetime >= 10 && reg.par_request_lifetime < 600)) {
    fail("par_request_lifetime must be from 10 to 599 seconds");
  }
  for (const resource of reg.introspection_resources ?? []) {
    if (resource.includes("#") || !URL.canParse(resource)) {
      fail(`introspection_resources: ${resource} must be an absolute URI without a fragment`);
    }
  }
  if (
    reg.request_object_signing_alg &&
    !(ASYMMETRIC_ALGS as readonly string[]).includes(reg.request_object_signing_alg)
  ) {
    fail(`request_object_signing_alg must be one of ${ASYMMETRIC_ALGS.join(", ")}`);
  }
  validateIssue14Metadata(reg, fail);
}

/** DPoP, FAPI 2.0, RAR and JARM metadata (issue 14): the FAPI 2.0 rules are in src/fapi2/. */
function validateIssue14Metadata(reg: ClientRegistration, fail: (m: string) => never): void {
  if (reg.profile !== undefined && !(CLIENT_PROFILES as readonly string[]).includes(reg.profile)) {
    fail(`profile must be one of ${CLIENT_PROFILES.join(", ")}`);
  }
  for (const type of reg.authorization_details_types ?? []) {
    if (!/^[A-Za-z0-9._:/-]{1,100}$/.test(type))
      fail(`authorization_details_types: ${type.slice(0, 100)} is malformed`);
  }
  const jarmAlg = reg.authorization_signed_response_alg;
  // JARM §3: the provider signs with its own keys, which are asymmetric.
  if (jarmAlg && !(ASYMMETRIC_ALGS as readonly string[]).includes(jarmAlg)) {
    fail(`authorization_signed_response_alg must be one of ${ASYMMETRIC_ALGS.join(", ")}`);
  }
  validateFapi2Registration(reg, fail);
}

function validateBackchannel(reg: ClientRegistration, fail: (m: string) => never, allowHttp: boolean): void {
  const ciba = reg.grant_types.includes(GRANT_TYPES.ciba);
  if (!ciba) {
    if (reg.backchannel_token_delivery_mode) fail("backchannel_token_delivery_mode needs the CIBA grant type");
    return;
  }
  const mode = reg.backchannel_token_delivery_mode;
  if (!mode || !DELIVERY_MODES.includes(mode))
    fail("CIBA clients need backchannel_token_delivery_mode poll, ping or push");
  if (mode === "ping" || mode === "push") {
    const endpoint = reg.backchannel_client_notification_endpoint;
    if (!endpoint) fail(`${mode} mode needs backchannel_client_notification_endpoint`);
    const problem = notificationEndpointProblem(endpoint, allowHttp);
    if (problem) fail(`backchannel_client_notification_endpoint ${problem}`);
  }
  const alg = reg.backchannel_authentication_request_signing_alg;
  if (alg && !(ASYMMETRIC_ALGS as readonly string[]).includes(alg)) {
    fail(`backchannel_authentication_request_signing_alg must be one of ${ASYMMETRIC_ALGS.join(", ")}`);
  }
  if (
    reg.ciba_request_lifetime !== undefined &&
    !(reg.ciba_request_lifetime >= 10 && reg.ciba_request_lifetime <= 3600)
  ) {
    fail("ciba_request_lifetime must be from 10 to 3600 seconds");
  }
  if (reg.ciba_polling_interval !== undefined && !(reg.ciba_polling_interval >= 1 && reg.ciba_polling_interval <= 60)) {
    fail("ciba_polling_interval must be from 1 to 60 seconds");
  }
}

/**
 * RP-Initiated Logout §3.1: post_logout_redirect_uris follow the redirect_uri rules (the
 * browser is sent there). Back-Channel Logout §2.2: backchannel_logout_uri receives logout
 * tokens from edge-op itself, so it follows the notification endpoint rules (https, a public
 * host; checked again before each delivery). §2.2 forbids a fragment; a query is allowed.
 */
function validateLogout(reg: ClientRegistration, fail: (m: string) => never, allowHttp: boolean): void {
  for (const uri of reg.post_logout_redirect_uris ?? []) validateRedirectUri(uri, fail, "post_logout_redirect_uri");
  if (reg.backchannel_logout_uri !== undefined) {
    const problem = notificationEndpointProblem(reg.backchannel_logout_uri, allowHttp);
    if (problem) fail(`backchannel_logout_uri ${problem}`);
  }
}

const TLS_IDENTITY_FIELDS = [
  "tls_client_auth_subject_dn",
  "tls_client_auth_san_dns",
  "tls_client_auth_san_uri",
  "tls_client_auth_san_ip",
  "tls_client_auth_san_email",
] as const;

/** RFC 8705 §2.1.2: tls_client_auth names exactly one certificate identity; others name none. */
function validateTlsIdentity(reg: ClientRegistration, fail: (m: string) => never): void {
  const named = TLS_IDENTITY_FIELDS.filter((field) => reg[field] !== undefined && reg[field] !== "");
  if (reg.token_endpoint_auth_method === "tls_client_auth") {
    if (named.length !== 1) fail(`tls_client_auth requires exactly one of ${TLS_IDENTITY_FIELDS.join(", ")}`);
  } else if (named.length > 0) {
    fail(`${named[0]} is only for tls_client_auth clients`);
  }
}

/** The mTLS methods: the client proves itself with its TLS client certificate. */
export function usesCertificate(method: AuthMethod): boolean {
  return method === "tls_client_auth" || method === "self_signed_tls_client_auth";
}

/**
 * FAPI-CIBA §5.2.2 (checklist F1, F2): a confidential CIBA client authenticating with
 * private_key_jwt or mutual TLS, PS256 / ES256 / EdDSA only, and no push mode.
 */
function validateFapiCiba(reg: ClientRegistration, fail: (m: string) => never): void {
  if (!reg.fapi_ciba) return;
  const fapiAlgs: readonly string[] = FAPI_ALGS;
  if (!reg.grant_types.includes(GRANT_TYPES.ciba)) fail("fapi_ciba needs the CIBA grant type");
  if (reg.token_endpoint_auth_method !== "private_key_jwt" && !usesCertificate(reg.token_endpoint_auth_method)) {
    fail("FAPI-CIBA clients must use private_key_jwt, tls_client_auth or self_signed_tls_client_auth");
  }
  if (reg.token_endpoint_auth_signing_alg && !fapiAlgs.includes(reg.token_endpoint_auth_signing_alg)) {
    fail(`FAPI-CIBA clients sign with ${FAPI_ALGS.join(", ")} only (token_endpoint_auth_signing_alg)`);
  }
  const requestAlg = reg.backchannel_authentication_request_signing_alg;
  if (requestAlg && !fapiAlgs.includes(requestAlg)) {
    fail(`FAPI-CIBA clients sign with ${FAPI_ALGS.join(", ")} only (backchannel_authentication_request_signing_alg)`);
  }
  if (reg.backchannel_token_delivery_mode === "push") fail("FAPI-CIBA does not allow the push delivery mode");
  // Every request must be signed, and only registered keys can verify it (a tls_client_auth
  // client authenticates with its certificate, but still signs its requests).
  if (!reg.jwks && !reg.jwks_uri) fail("FAPI-CIBA clients sign their requests: register jwks or jwks_uri");
}

/**
 * CIBA §4 / checklist S3: why `uri` cannot be a client notification endpoint, or undefined if
 * it can. https only, and not an IP-literal host in a loopback, private, link-local or other
 * non-public range (src/outbound/public-address.ts; DNS names are not resolved). `allowHttp` (the
 * ALLOW_HTTP_NOTIFICATION_ENDPOINTS development switch) allows loopback hosts, over http too.
 * Checked at registration, before a request is accepted and before each delivery, so a row
 * edited by hand cannot make the provider send a bearer token in the clear or into a network
 * it should not reach. The same rule holds for every other client URL edge-op itself calls:
 * `backchannel_logout_uri`, and `jwks_uri` (at registration and before each fetch).
 */
export function notificationEndpointProblem(uri: string, allowHttp: boolean): string | undefined {
  const url = parseUrl(uri);
  if (!url || url.hash || url.username || url.password) {
    return "must be an absolute URL without a fragment or credentials";
  }
  const destination = destinationProblem(url, allowHttp);
  if (destination) return destination;
  const developmentLoopback = allowHttp && nonPublicHost(url.hostname)?.loopback === true;
  if (url.protocol === "https:" || (url.protocol === "http:" && developmentLoopback)) return undefined;
  return allowHttp ? "must be https (or http on localhost)" : "must be an https URL";
}

function validateJwks(jwks: { keys: PublicJwk[] }, fail: (m: string) => never): void {
  if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) fail('jwks must be {"keys": [...]} with at least one key');
  for (const key of jwks.keys) {
    if (typeof key.kty !== "string") fail("every jwks key needs kty");
    if ("d" in key || "k" in key) fail("jwks must hold public keys only");
  }
}

/**
 * RFC 6749 §3.1.2: absolute, no fragment. The code travels in it, so (OAuth 2.0 Security BCP
 * §4.1.3, RFC 8252) it must be https, http on a loopback host, or a native app's private-use
 * scheme (reverse domain name, RFC 8252 §7.1): never plain http to another host.
 */
function validateRedirectUri(uri: string, fail: (m: string) => never, field = "redirect_uri"): void {
  const url = parseUrl(uri);
  if (!url || url.hash) fail(`${field} ${uri} must be an absolute URL without a fragment`);
  const privateUseScheme = /^[a-z][a-z0-9+-]*\.[a-z0-9.+-]+:$/.test(url.protocol);
  if (url.protocol !== "https:" && !isLoopback(url) && !privateUseScheme) {
    fail(`${field} ${uri} must be https, http on localhost, or a private-use scheme like com.example.app:/cb`);
  }
}

export function isLoopback(url: URL): boolean {
  return url.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
}

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}
