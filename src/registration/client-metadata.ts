/**
 * The client metadata a client may send at registration (RFC 7591 §2) or update (RFC 7592 §2.2),
 * read from JSON into a ClientRegistration. Which fields a client may set itself is decided here:
 * the protocol metadata of RFC 7591, OpenID Connect Registration, CIBA §4, RFC 8705, the logout
 * specifications' (RP-Initiated Logout §3.1, Back-Channel Logout §2.2), RFC 9449 §5.2's
 * `dpop_bound_access_tokens`, RFC 9396 §10's `authorization_details_types`, JARM §3's
 * `authorization_signed_response_alg`, and the two profile switches (`fapi_ciba`, `profile`),
 * which only ever hold the client to more rules. Fields only the operator sets —
 * `introspection_resources` (a client must not name itself a resource server of another's API),
 * the CIBA and PAR lifetimes — are ignored
 * like every field edge-op does not understand (§2: "MUST ignore any client metadata sent by the
 * client that it does not understand"). The result then goes through the same
 * validateClientRegistration as the admin tool's registrations, every rule included.
 */
import {
  AUTH_METHODS,
  type AuthMethod,
  CLIENT_PROFILES,
  type ClientRegistration,
  DELIVERY_MODES,
  type PublicJwk,
} from "../clients/metadata";
import { InvalidClientMetadata } from "../errors";
import { isRecord } from "../parse";

/** What the client asked for, with RFC 7591 §2's defaults filled in; the server adds id and secret. */
export type RequestedMetadata = Omit<ClientRegistration, "client_id" | "client_secret">;

const STRING_FIELDS = [
  "token_endpoint_auth_signing_alg",
  "jwks_uri",
  "backchannel_client_notification_endpoint",
  "backchannel_authentication_request_signing_alg",
  "request_object_signing_alg",
  "tls_client_auth_subject_dn",
  "tls_client_auth_san_dns",
  "tls_client_auth_san_uri",
  "tls_client_auth_san_ip",
  "tls_client_auth_san_email",
  // Back-Channel Logout §2.2: where logout tokens are POSTed (the notification endpoint rules).
  "backchannel_logout_uri",
  // JARM §3: the client's authorization responses come back as JWTs signed with this alg.
  "authorization_signed_response_alg",
] as const;

/**
 * The fields only the operator sets, as `client` has them. A client's RFC 7592 §2.2 update
 * replaces what the client may set and keeps these as the operator left them.
 */
export function operatorSetFields(
  client: ClientRegistration,
): Pick<
  ClientRegistration,
  "introspection_resources" | "ciba_request_lifetime" | "ciba_polling_interval" | "par_request_lifetime"
> {
  return {
    introspection_resources: client.introspection_resources,
    ciba_request_lifetime: client.ciba_request_lifetime,
    ciba_polling_interval: client.ciba_polling_interval,
    par_request_lifetime: client.par_request_lifetime,
  };
}

/** Reads a metadata document; throws invalid_client_metadata for a field of the wrong type. */
export function readClientMetadata(body: unknown): RequestedMetadata {
  if (!isRecord(body)) throw new InvalidClientMetadata("the request body must be a JSON object");
  const metadata: RequestedMetadata = {
    client_name: optionalString(body, "client_name") ?? "",
    // RFC 7591 §2: the defaults when a field is omitted.
    token_endpoint_auth_method: authMethod(body),
    grant_types: stringList(body, "grant_types") ?? ["authorization_code"],
    redirect_uris: stringList(body, "redirect_uris") ?? [],
    scope: optionalString(body, "scope") ?? "openid",
    backchannel_user_code_parameter: optionalBoolean(body, "backchannel_user_code_parameter") ?? false,
    require_pushed_authorization_requests: optionalBoolean(body, "require_pushed_authorization_requests") ?? false,
  };
  for (const field of STRING_FIELDS) {
    const value = optionalString(body, field);
    if (value !== undefined) metadata[field] = value;
  }
  const mode = optionalString(body, "backchannel_token_delivery_mode");
  if (mode !== undefined)
    metadata.backchannel_token_delivery_mode = oneOfField("backchannel_token_delivery_mode", mode, DELIVERY_MODES);
  // RP-Initiated Logout §3.1: where the browser may be sent after signing out (redirect_uri rules).
  const postLogoutRedirectUris = stringList(body, "post_logout_redirect_uris");
  if (postLogoutRedirectUris !== undefined) metadata.post_logout_redirect_uris = postLogoutRedirectUris;
  const fapiCiba = optionalBoolean(body, "fapi_ciba");
  if (fapiCiba !== undefined) metadata.fapi_ciba = fapiCiba;
  // RFC 9449 §5.2: the client always sends DPoP proofs at the token endpoint.
  const dpopBound = optionalBoolean(body, "dpop_bound_access_tokens");
  if (dpopBound !== undefined) metadata.dpop_bound_access_tokens = dpopBound;
  // RFC 9396 §10: the authorization_details types the client may request.
  const detailsTypes = stringList(body, "authorization_details_types");
  if (detailsTypes !== undefined) metadata.authorization_details_types = detailsTypes;
  // edge-op's FAPI 2.0 switch (docs/fapi.md); validateClientRegistration names the values.
  const profile = optionalString(body, "profile");
  if (profile !== undefined) metadata.profile = oneOfField("profile", profile, CLIENT_PROFILES);
  if (body.jwks !== undefined) metadata.jwks = jwks(body.jwks);
  checkResponseTypes(body, metadata.grant_types);
  return metadata;
}

function authMethod(body: Record<string, unknown>): AuthMethod {
  const method = optionalString(body, "token_endpoint_auth_method") ?? "client_secret_basic";
  return oneOfField("token_endpoint_auth_method", method, AUTH_METHODS);
}

/** A field whose value must be one of a fixed set: invalid_client_metadata names the set. */
function oneOfField<const T extends string>(field: string, value: string, allowed: readonly T[]): T {
  const known = allowed.find((candidate) => candidate === value);
  if (!known) throw new InvalidClientMetadata(`${field} must be one of ${allowed.join(", ")}`);
  return known;
}

/** edge-op answers only response_type code (OpenID Connect Registration §2: default ["code"]). */
function checkResponseTypes(body: Record<string, unknown>, grantTypes: string[]): void {
  const responseTypes = stringList(body, "response_types");
  if (responseTypes === undefined) return;
  if (responseTypes.some((type) => type !== "code")) {
    throw new InvalidClientMetadata("response_types may only contain code");
  }
  // RFC 7591 §2.1: response type code goes with the authorization_code grant.
  if (responseTypes.includes("code") && !grantTypes.includes("authorization_code")) {
    throw new InvalidClientMetadata("response_types code needs the authorization_code grant type");
  }
}

function jwks(value: unknown): { keys: PublicJwk[] } {
  if (!isRecord(value) || !Array.isArray(value.keys) || !value.keys.every(isRecord)) {
    throw new InvalidClientMetadata('jwks must be a JWK set {"keys": [...]}');
  }
  return { keys: value.keys.map((key) => ({ ...key, kty: typeof key.kty === "string" ? key.kty : "" })) };
}

function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || value.length > 2048) throw new InvalidClientMetadata(`${field} must be a string`);
  return value;
}

function optionalBoolean(body: Record<string, unknown>, field: string): boolean | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") throw new InvalidClientMetadata(`${field} must be true or false`);
  return value;
}

function stringList(body: Record<string, unknown>, field: string): string[] | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.length > 50 || !value.every((v) => typeof v === "string" && v.length <= 2048)) {
    throw new InvalidClientMetadata(`${field} must be an array of strings`);
  }
  return [...new Set(value as string[])];
}
