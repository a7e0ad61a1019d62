/**
 * The console's client form: its values as submitted (all text), turned into a
 * ClientRegistration and checked by the registry's own validateClientRegistration, the same
 * code the CLI and the dev seed use. A problem comes back with the form field it belongs to,
 * so the page can show it beside that field.
 */
import {
  AUTH_METHODS,
  type AuthMethod,
  CLIENT_PROFILES,
  type Client,
  type ClientProfile,
  type ClientRegistration,
  DELIVERY_MODES,
  type DeliveryMode,
  type PublicJwk,
  RegistrationError,
  validateClientRegistration,
} from "../clients/metadata";

export interface ClientFormValues {
  client_id: string;
  client_name: string;
  token_endpoint_auth_method: string;
  grant_types: string[];
  /** One per line. */
  redirect_uris: string;
  scope: string;
  /** A JWK set (or one JWK) as JSON, or empty. */
  jwks: string;
  backchannel_token_delivery_mode: string;
  backchannel_client_notification_endpoint: string;
  backchannel_authentication_request_signing_alg: string;
  backchannel_user_code_parameter: boolean;
  require_pushed_authorization_requests: boolean;
  request_object_signing_alg: string;
  fapi_ciba: boolean;
  tls_client_auth_subject_dn: string;
  /** "" or a CLIENT_PROFILES value ("fapi2": the FAPI 2.0 Security Profile, docs/fapi.md). */
  profile: string;
  token_endpoint_auth_signing_alg: string;
  dpop_bound_access_tokens: boolean;
}

export type ClientField = keyof ClientFormValues | "form";

export type ClientFormResult =
  | { ok: true; registration: ClientRegistration }
  | { ok: false; field: ClientField; message: string };

/** A form field read from the submitted form (single values; grant_types may repeat). */
export interface SubmittedForm {
  get(name: string): string | undefined;
  getAll(name: string): string[];
}

export function clientFormValues(form: SubmittedForm): ClientFormValues {
  const text = (name: string, max = 2000) => (form.get(name) ?? "").trim().slice(0, max);
  return {
    client_id: text("client_id", 200),
    client_name: text("client_name", 200),
    token_endpoint_auth_method: text("token_endpoint_auth_method", 64),
    grant_types: form.getAll("grant_types").slice(0, 8),
    redirect_uris: text("redirect_uris", 8000),
    scope: text("scope", 1000).replace(/\s+/g, " "),
    jwks: text("jwks", 20_000),
    backchannel_token_delivery_mode: text("backchannel_token_delivery_mode", 16),
    backchannel_client_notification_endpoint: text("backchannel_client_notification_endpoint"),
    backchannel_authentication_request_signing_alg: text("backchannel_authentication_request_signing_alg", 16),
    backchannel_user_code_parameter: form.get("backchannel_user_code_parameter") === "on",
    require_pushed_authorization_requests: form.get("require_pushed_authorization_requests") === "on",
    request_object_signing_alg: text("request_object_signing_alg", 16),
    fapi_ciba: form.get("fapi_ciba") === "on",
    tls_client_auth_subject_dn: text("tls_client_auth_subject_dn", 1000),
    profile: text("profile", 16),
    token_endpoint_auth_signing_alg: text("token_endpoint_auth_signing_alg", 16),
    dpop_bound_access_tokens: form.get("dpop_bound_access_tokens") === "on",
  };
}

/** A stored client as form values (for the edit form). */
export function formValuesOf(client: Client): ClientFormValues {
  return {
    client_id: client.client_id,
    client_name: client.client_name,
    token_endpoint_auth_method: client.token_endpoint_auth_method,
    grant_types: client.grant_types,
    redirect_uris: client.redirect_uris.join("\n"),
    scope: client.scope,
    jwks: client.jwks ? JSON.stringify(client.jwks, null, 2) : "",
    backchannel_token_delivery_mode: client.backchannel_token_delivery_mode ?? "",
    backchannel_client_notification_endpoint: client.backchannel_client_notification_endpoint ?? "",
    backchannel_authentication_request_signing_alg: client.backchannel_authentication_request_signing_alg ?? "",
    backchannel_user_code_parameter: client.backchannel_user_code_parameter,
    require_pushed_authorization_requests: client.require_pushed_authorization_requests,
    request_object_signing_alg: client.request_object_signing_alg ?? "",
    fapi_ciba: client.fapi_ciba ?? false,
    tls_client_auth_subject_dn: client.tls_client_auth_subject_dn ?? "",
    profile: client.profile ?? "",
    token_endpoint_auth_signing_alg: client.token_endpoint_auth_signing_alg ?? "",
    dpop_bound_access_tokens: client.dpop_bound_access_tokens ?? false,
  };
}

/**
 * The registration the form describes, validated. `secret` is the generated secret for a
 * secret-based method (a new client), `undefined` otherwise; an edited client keeps its stored
 * secret, so the edit is validated with a placeholder of the right length.
 */
export function registrationFromForm(
  values: ClientFormValues,
  secret: string | undefined,
  scopesSupported: readonly string[],
  allowHttpNotificationEndpoints: boolean,
  /** An edited client: what the form does not show (lifetimes, SANs, jwks_uri, …) is kept from it. */
  stored?: Client,
): ClientFormResult {
  const method = values.token_endpoint_auth_method;
  if (!(AUTH_METHODS as readonly string[]).includes(method)) {
    return { ok: false, field: "token_endpoint_auth_method", message: "Choose an authentication method." };
  }
  const mode = values.backchannel_token_delivery_mode;
  if (mode !== "" && !(DELIVERY_MODES as readonly string[]).includes(mode)) {
    return { ok: false, field: "backchannel_token_delivery_mode", message: "Choose poll, ping or push." };
  }
  const profile = values.profile;
  if (profile !== "" && !(CLIENT_PROFILES as readonly string[]).includes(profile)) {
    return { ok: false, field: "profile", message: `Choose no profile or ${CLIENT_PROFILES.join(", ")}.` };
  }
  let jwks: { keys: PublicJwk[] } | undefined;
  if (values.jwks !== "") {
    const parsed = parseJwks(values.jwks);
    if (!parsed) return { ok: false, field: "jwks", message: 'Paste a JWK set ({"keys": [...]}) or one public JWK.' };
    jwks = parsed;
  }
  const optional = (value: string) => (value === "" ? undefined : value);
  const kept = stored ? withoutSecrets(stored) : undefined;
  const registration: ClientRegistration = {
    ...kept,
    client_id: values.client_id,
    client_name: values.client_name || values.client_id,
    token_endpoint_auth_method: method as AuthMethod,
    client_secret: secret,
    grant_types: values.grant_types,
    redirect_uris: values.redirect_uris.split(/\s+/).filter(Boolean),
    scope: values.scope,
    jwks,
    backchannel_token_delivery_mode: optional(mode) as DeliveryMode | undefined,
    backchannel_client_notification_endpoint: optional(values.backchannel_client_notification_endpoint),
    backchannel_authentication_request_signing_alg: optional(values.backchannel_authentication_request_signing_alg),
    backchannel_user_code_parameter: values.backchannel_user_code_parameter,
    require_pushed_authorization_requests: values.require_pushed_authorization_requests,
    request_object_signing_alg: optional(values.request_object_signing_alg),
    fapi_ciba: values.fapi_ciba,
    tls_client_auth_subject_dn: optional(values.tls_client_auth_subject_dn),
    profile: optional(profile) as ClientProfile | undefined,
    token_endpoint_auth_signing_alg: optional(values.token_endpoint_auth_signing_alg),
    // Unticked means "not required" (undefined), also over a stored true: the form shows the field.
    dpop_bound_access_tokens: values.dpop_bound_access_tokens || undefined,
  };
  try {
    validateClientRegistration(registration, scopesSupported, { allowHttpNotificationEndpoints });
  } catch (error) {
    if (!(error instanceof RegistrationError)) throw error;
    // The registry's message starts with `client "<id>": `; the page shows it beside a field.
    const message = error.message.replace(/^client "(?:[^"\\]|\\.)*": /, "");
    return { ok: false, field: fieldOf(message), message };
  }
  return { ok: true, registration };
}

function withoutSecrets(client: Client): ClientRegistration {
  const { client_secret_hash: _hash, client_secret_encrypted: _encrypted, ...metadata } = client;
  return metadata;
}

function parseJwks(text: string): { keys: PublicJwk[] } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  if ("keys" in value && Array.isArray(value.keys)) return { keys: value.keys };
  if ("kty" in value && typeof value.kty === "string") return { keys: [{ ...value, kty: value.kty }] };
  return undefined;
}

/**
 * The field a registry message is about: the first field name it mentions (most specific
 * names first, so `backchannel_client_notification_endpoint` wins over the delivery mode).
 */
const FIELD_WORDS: readonly [string, ClientField][] = [
  ["client_id", "client_id"],
  ["a fapi2 client authenticates with", "token_endpoint_auth_method"],
  ["token_endpoint_auth_signing_alg", "token_endpoint_auth_signing_alg"],
  ["may not use push mode", "backchannel_token_delivery_mode"],
  ["profile must", "profile"],
  ["client secret", "token_endpoint_auth_method"],
  ["backchannel_client_notification_endpoint", "backchannel_client_notification_endpoint"],
  ["backchannel_authentication_request_signing_alg", "backchannel_authentication_request_signing_alg"],
  ["backchannel_token_delivery_mode", "backchannel_token_delivery_mode"],
  ["mode needs", "backchannel_client_notification_endpoint"],
  ["tls_client_auth_", "tls_client_auth_subject_dn"],
  ["tls_client_auth requires", "tls_client_auth_subject_dn"],
  ["jwks", "jwks"],
  ["redirect_uri", "redirect_uris"],
  ["scope", "scope"],
  ["grant type", "grant_types"],
  ["request_object_signing_alg", "request_object_signing_alg"],
  ["push delivery", "backchannel_token_delivery_mode"],
  ["fapi_ciba", "fapi_ciba"],
  ["FAPI-CIBA clients must use", "token_endpoint_auth_method"],
  ["token_endpoint_auth_method", "token_endpoint_auth_method"],
];

export function fieldOf(message: string): ClientField {
  return FIELD_WORDS.find(([word]) => message.includes(word))?.[1] ?? "form";
}
