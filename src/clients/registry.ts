/**
 * The client registry, in D1 table `clients` (the default ClientStore). Reads map a row to a
 * `Client`; `clientRow` maps a validated registration to the row to insert, hashing (and for
 * client_secret_jwt, encrypting) the secret on the way, so the plain secret is never written
 * anywhere.
 */
import { encrypt } from "../crypto/encryption";
import { sha256Hex } from "../crypto/hash";
import {
  arrayOf,
  bit,
  int,
  isRecord,
  json,
  nullable,
  object,
  oneOf,
  optional,
  ParseProblem,
  type Parser,
  readStored,
  str,
} from "../parse";
import type { ClientStore } from "../stores";
import {
  AUTH_METHODS,
  CLIENT_PROFILES,
  type Client,
  type ClientRegistration,
  DELIVERY_MODES,
  type PublicJwk,
} from "./metadata";

interface ClientRowData {
  client_id: string;
  client_name: string;
  client_secret_hash: string | null;
  client_secret_encrypted: string | null;
  token_endpoint_auth_method: string;
  token_endpoint_auth_signing_alg: string | null;
  grant_types: string;
  redirect_uris: string;
  scope: string;
  jwks: string | null;
  jwks_uri: string | null;
  backchannel_token_delivery_mode: string | null;
  backchannel_client_notification_endpoint: string | null;
  backchannel_authentication_request_signing_alg: string | null;
  backchannel_user_code_parameter: number;
  require_pushed_authorization_requests: number;
  request_object_signing_alg: string | null;
  ciba_request_lifetime: number | null;
  ciba_polling_interval: number | null;
  par_request_lifetime: number | null;
  fapi_ciba: number;
  tls_client_auth_subject_dn: string | null;
  tls_client_auth_san_dns: string | null;
  tls_client_auth_san_uri: string | null;
  tls_client_auth_san_ip: string | null;
  tls_client_auth_san_email: string | null;
  dpop_bound_access_tokens: number;
  profile: string | null;
  authorization_details_types: string | null;
  authorization_signed_response_alg: string | null;
  introspection_resources: string | null;
  post_logout_redirect_uris: string;
  backchannel_logout_uri: string | null;
  created_at: number;
}

export const CLIENT_COLUMNS = [
  "client_id",
  "client_name",
  "client_secret_hash",
  "client_secret_encrypted",
  "token_endpoint_auth_method",
  "token_endpoint_auth_signing_alg",
  "grant_types",
  "redirect_uris",
  "scope",
  "jwks",
  "jwks_uri",
  "backchannel_token_delivery_mode",
  "backchannel_client_notification_endpoint",
  "backchannel_authentication_request_signing_alg",
  "backchannel_user_code_parameter",
  "require_pushed_authorization_requests",
  "request_object_signing_alg",
  "ciba_request_lifetime",
  "ciba_polling_interval",
  "par_request_lifetime",
  "fapi_ciba",
  "tls_client_auth_subject_dn",
  "tls_client_auth_san_dns",
  "tls_client_auth_san_uri",
  "tls_client_auth_san_ip",
  "tls_client_auth_san_email",
  "dpop_bound_access_tokens",
  "profile",
  "authorization_details_types",
  "authorization_signed_response_alg",
  "introspection_resources",
  "post_logout_redirect_uris",
  "backchannel_logout_uri",
  "created_at",
] as const satisfies readonly (keyof ClientRowData)[];

/** Registrations kept in an isolate, by client_id (see D1ClientStore). */
export type ClientCache = Map<string, { client: Client; until: number }>;
const MAX_CACHED = 1000;

/**
 * D1ClientStore, the default ClientStore (src/stores.ts). Registrations are cached for
 * `cacheSeconds` (CLIENT_CACHE_SECONDS) in `cache` on the hot paths: a client authenticates on
 * every token, backchannel and PAR request, and the lookup was the largest avoidable cost of a
 * CIBA flow (bench/README.md). The price: removing a client or replacing its secret takes up to
 * that long to reach every isolate. Unknown ids are not cached. The provider keeps one cache per
 * database binding (src/provider/runtime.ts), so two realms never share registrations.
 */
export class D1ClientStore implements ClientStore {
  constructor(
    private readonly db: D1Database,
    private readonly cacheSeconds = 0,
    private readonly cache: ClientCache = new Map(),
  ) {}

  async find(clientId: string): Promise<Client | undefined> {
    const now = Date.now();
    const cached = this.cacheSeconds > 0 ? this.cache.get(clientId) : undefined;
    if (cached && cached.until > now) return cached.client;
    // A client an operator disabled in the console (disabled_at set) is no client at all.
    const row = await this.db
      .prepare("SELECT *, created_at AS client_id_issued_at FROM clients WHERE client_id = ? AND disabled_at IS NULL")
      .bind(clientId)
      .first();
    // A row that does not parse is no client (logged): authentication fails, nothing crashes.
    const client = row ? readStored("clients", clientRecord, row) : undefined;
    if (!client) return undefined;
    if (this.cacheSeconds > 0) {
      if (this.cache.size >= MAX_CACHED) this.cache.clear();
      this.cache.set(clientId, { client, until: now + this.cacheSeconds * 1000 });
    }
    return client;
  }
}

const nullableText = nullable(str);

/** A public JWK as registered: an object with a `kty`; its other members are the key's. */
const publicJwk: Parser<PublicJwk> = (value, at) => {
  if (!isRecord(value) || typeof value.kty !== "string") throw new ParseProblem(`${at}: expected a JWK`);
  return { ...value, kty: value.kty };
};

/** A `clients` row as a Client: the columns are the Client's fields, lists and keys as JSON. */
const clientRecord: Parser<Client> = object<Client>({
  client_id: str,
  client_name: str,
  token_endpoint_auth_method: oneOf(AUTH_METHODS),
  token_endpoint_auth_signing_alg: nullableText,
  grant_types: json(arrayOf(str)),
  redirect_uris: json(arrayOf(str)),
  scope: str,
  jwks: nullable(json(object<{ keys: PublicJwk[] }>({ keys: arrayOf(publicJwk) }))),
  jwks_uri: nullableText,
  backchannel_token_delivery_mode: nullable(oneOf(DELIVERY_MODES)),
  backchannel_client_notification_endpoint: nullableText,
  backchannel_authentication_request_signing_alg: nullableText,
  backchannel_user_code_parameter: bit,
  require_pushed_authorization_requests: bit,
  request_object_signing_alg: nullableText,
  ciba_request_lifetime: nullable(int),
  ciba_polling_interval: nullable(int),
  par_request_lifetime: nullable(int),
  fapi_ciba: bit,
  tls_client_auth_subject_dn: nullableText,
  tls_client_auth_san_dns: nullableText,
  tls_client_auth_san_uri: nullableText,
  tls_client_auth_san_ip: nullableText,
  tls_client_auth_san_email: nullableText,
  dpop_bound_access_tokens: bit,
  profile: nullable(oneOf(CLIENT_PROFILES)),
  authorization_details_types: nullable(json(arrayOf(str))),
  authorization_signed_response_alg: nullableText,
  introspection_resources: nullable(json(arrayOf(str))),
  post_logout_redirect_uris: json(arrayOf(str)),
  backchannel_logout_uri: nullableText,
  client_secret_hash: nullableText,
  client_secret_encrypted: nullableText,
  // Present when the query names it (D1ClientStore.find: `created_at AS client_id_issued_at`).
  client_id_issued_at: optional(int),
});

/** A `clients` row as a Client, or undefined (logged) when it does not parse: the console's reads. */
export function readClientRow(row: unknown): Client | undefined {
  return readStored("clients", clientRecord, row);
}

/** The row for a validated registration; the secret is hashed, and encrypted only for client_secret_jwt. */
export async function clientRow(
  reg: ClientRegistration,
  dataEncryptionKey: string | undefined,
): Promise<ClientRowData> {
  const secret = reg.client_secret;
  return {
    client_id: reg.client_id,
    client_name: reg.client_name,
    client_secret_hash: secret ? await sha256Hex(secret) : null,
    client_secret_encrypted:
      secret && reg.token_endpoint_auth_method === "client_secret_jwt"
        ? await encrypt(dataEncryptionKey, secret, clientSecretAad(reg.client_id))
        : null,
    token_endpoint_auth_method: reg.token_endpoint_auth_method,
    token_endpoint_auth_signing_alg: reg.token_endpoint_auth_signing_alg ?? null,
    grant_types: JSON.stringify(reg.grant_types),
    redirect_uris: JSON.stringify(reg.redirect_uris),
    scope: reg.scope,
    jwks: reg.jwks ? JSON.stringify(reg.jwks) : null,
    jwks_uri: reg.jwks_uri ?? null,
    backchannel_token_delivery_mode: reg.backchannel_token_delivery_mode ?? null,
    backchannel_client_notification_endpoint: reg.backchannel_client_notification_endpoint ?? null,
    backchannel_authentication_request_signing_alg: reg.backchannel_authentication_request_signing_alg ?? null,
    backchannel_user_code_parameter: reg.backchannel_user_code_parameter ? 1 : 0,
    require_pushed_authorization_requests: reg.require_pushed_authorization_requests ? 1 : 0,
    request_object_signing_alg: reg.request_object_signing_alg ?? null,
    ciba_request_lifetime: reg.ciba_request_lifetime ?? null,
    ciba_polling_interval: reg.ciba_polling_interval ?? null,
    par_request_lifetime: reg.par_request_lifetime ?? null,
    fapi_ciba: reg.fapi_ciba ? 1 : 0,
    tls_client_auth_subject_dn: reg.tls_client_auth_subject_dn ?? null,
    tls_client_auth_san_dns: reg.tls_client_auth_san_dns ?? null,
    tls_client_auth_san_uri: reg.tls_client_auth_san_uri ?? null,
    tls_client_auth_san_ip: reg.tls_client_auth_san_ip ?? null,
    tls_client_auth_san_email: reg.tls_client_auth_san_email ?? null,
    dpop_bound_access_tokens: reg.dpop_bound_access_tokens ? 1 : 0,
    profile: reg.profile ?? null,
    authorization_details_types: reg.authorization_details_types
      ? JSON.stringify(reg.authorization_details_types)
      : null,
    authorization_signed_response_alg: reg.authorization_signed_response_alg ?? null,
    introspection_resources: reg.introspection_resources?.length ? JSON.stringify(reg.introspection_resources) : null,
    post_logout_redirect_uris: JSON.stringify(reg.post_logout_redirect_uris ?? []),
    backchannel_logout_uri: reg.backchannel_logout_uri ?? null,
    created_at: Math.floor(Date.now() / 1000),
  };
}

/** Binds an encrypted client secret to its client, so a ciphertext cannot be moved to another row. */
export function clientSecretAad(clientId: string): string {
  return `client_secret:${clientId}`;
}
