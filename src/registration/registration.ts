/**
 * Dynamic client registration (RFC 7591 §3) and client management (RFC 7592 §2), without HTTP.
 * Every registration, created or updated, passes the same validateClientRegistration as the
 * admin tool's (src/clients/metadata.ts), FAPI-CIBA's rules included, and is written with the
 * same clientRow, so a dynamically registered client is one the admin tool could have made.
 *
 *   register: initial access token → readClientMetadata → new client_id (+ secret) → validate →
 *             insert with the registration access token's hash → client information (§3.2.1)
 *   read:     registration access token → client information (RFC 7592 §2.1)
 *   update:   registration access token → readClientMetadata → same client_id, client_secret
 *             (if sent) must match → validate → replace (RFC 7592 §2.2)
 *   delete:   registration access token → delete (RFC 7592 §2.3)
 */
import {
  type Client,
  type ClientRegistration,
  RegistrationError,
  usesSecret,
  validateClientRegistration,
} from "../clients/metadata";
import { CLIENT_COLUMNS, clientRow, D1ClientStore } from "../clients/registry";
import type { RequestContext } from "../context";
import { digestsEqual, randomHandle, sha256Hex } from "../crypto/hash";
import { InvalidClientMetadata, InvalidRedirectUri, InvalidToken } from "../errors";
import { revokeGrants } from "../logout/sign-out";
import { operatorSetFields, readClientMetadata } from "./client-metadata";
import { findManagedClient, isInitialAccessToken } from "./registration-store";

/** RFC 7591 §3.2.1 / RFC 7592 §3: a client information response. */
export type ClientInformation = Record<string, unknown>;

/** The URL of a client's configuration endpoint (RFC 7592 §3). */
export type ClientUri = (clientId: string) => string;

export async function registerClient(
  ctx: RequestContext,
  initialAccessToken: string,
  body: unknown,
  clientUri: ClientUri,
): Promise<ClientInformation> {
  if (!(await isInitialAccessToken(ctx.env.DB, initialAccessToken))) {
    throw new InvalidToken("the initial access token is invalid or expired");
  }
  const requested = readClientMetadata(body);
  const clientId = randomHandle(16);
  const secret = usesSecret(requested.token_endpoint_auth_method) ? randomHandle(32) : undefined;
  const registration: ClientRegistration = {
    ...requested,
    client_id: clientId,
    client_name: requested.client_name || clientId,
    client_secret: secret,
  };
  validate(ctx, registration);
  const registrationAccessToken = randomHandle(32);
  const row = { ...(await clientRow(registration, ctx.env.DATA_ENCRYPTION_KEY)) };
  const columns = [...CLIENT_COLUMNS, "registration_access_token_hash"] as const;
  const values = [...CLIENT_COLUMNS.map((column) => row[column]), await sha256Hex(registrationAccessToken)];
  await ctx.env.DB.prepare(`INSERT INTO clients (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`)
    .bind(...values)
    .run();
  return {
    ...clientInformation(registration, row.created_at, clientUri),
    ...(secret ? { client_secret: secret, client_secret_expires_at: 0 } : {}),
    registration_access_token: registrationAccessToken,
  };
}

export async function readRegistration(
  ctx: RequestContext,
  clientId: string,
  registrationAccessToken: string,
  clientUri: ClientUri,
): Promise<ClientInformation> {
  const managed = await managedClient(ctx, clientId, registrationAccessToken);
  const client = await loadClient(ctx, clientId);
  return secretExpiry(client, clientInformation(client, managed.created_at, clientUri));
}

export async function updateRegistration(
  ctx: RequestContext,
  clientId: string,
  registrationAccessToken: string,
  body: unknown,
  clientUri: ClientUri,
): Promise<ClientInformation> {
  const managed = await managedClient(ctx, clientId, registrationAccessToken);
  const current = await loadClient(ctx, clientId);
  const sent = body as Record<string, unknown>;
  // RFC 7592 §2.2: the body's client_id "MUST" be the client's own.
  if (sent?.client_id !== clientId) throw new InvalidClientMetadata("client_id must be this client's client_id");
  await checkSentSecret(current, sent.client_secret);
  const requested = readClientMetadata(body);
  const secret = secretFor(current, requested.token_endpoint_auth_method);
  const registration: ClientRegistration = {
    ...requested,
    // What only the operator sets is not the client's to replace (or to drop by leaving it out).
    ...operatorSetFields(current),
    client_id: clientId,
    client_name: requested.client_name || clientId,
    // validateClientRegistration wants the secret of a secret method; a kept secret is known only
    // by its hash, so a stand-in of the generated length is checked and the stored hash kept.
    client_secret: secret.kind === "new" ? secret.value : secret.kind === "kept" ? "k".repeat(43) : undefined,
  };
  validate(ctx, registration);
  const row = { ...(await clientRow(registration, ctx.env.DATA_ENCRYPTION_KEY)) };
  if (secret.kind === "kept") {
    row.client_secret_hash = current.client_secret_hash ?? null;
    row.client_secret_encrypted = current.client_secret_encrypted ?? null;
  }
  const columns = CLIENT_COLUMNS.filter((column) => column !== "client_id" && column !== "created_at");
  await ctx.env.DB.prepare(
    `UPDATE clients SET ${columns.map((column) => `${column} = ?`).join(", ")}
     WHERE client_id = ? AND registration_access_token_hash = ?`,
  )
    .bind(...columns.map((column) => row[column]), clientId, await sha256Hex(registrationAccessToken))
    .run();
  const information = clientInformation(registration, managed.created_at, clientUri);
  if (secret.kind === "new") return { ...information, client_secret: secret.value, client_secret_expires_at: 0 };
  return secret.kind === "kept" ? { ...information, client_secret_expires_at: 0 } : information;
}

/**
 * RFC 7592 §2.3: deletes the client (its registration access token goes with the row), then, as
 * the admin tool's `client remove` does, what it was granted: §2.3 "SHOULD immediately
 * invalidate all existing authorization grants and currently-active tokens associated with this
 * client". Its grants recorded in session_grants are revoked (refresh-token families and access
 * tokens), and those rows and its remembered consents deleted. The row goes first, so the client
 * can no longer authenticate to get new tokens while the rest is cleared.
 */
export async function deleteRegistration(
  ctx: RequestContext,
  clientId: string,
  registrationAccessToken: string,
): Promise<void> {
  await managedClient(ctx, clientId, registrationAccessToken);
  await ctx.env.DB.prepare("DELETE FROM clients WHERE client_id = ? AND registration_access_token_hash = ?")
    .bind(clientId, await sha256Hex(registrationAccessToken))
    .run();
  const grants = await ctx.stores.sessionGrants.forClient(clientId);
  await revokeGrants(ctx, grants, "client_removed");
  await ctx.stores.sessionGrants.deleteGrants(grants.map((grant) => grant.grantId));
  await ctx.env.DB.prepare("DELETE FROM consents WHERE client_id = ?").bind(clientId).run();
}

/**
 * RFC 7592 §2.1: an unknown client or a wrong token is 401 invalid_token, the same for both, so
 * the answer does not tell which client ids exist.
 */
async function managedClient(ctx: RequestContext, clientId: string, token: string) {
  const managed = clientId.length <= 128 ? await findManagedClient(ctx.env.DB, clientId, token) : undefined;
  if (!managed) throw new InvalidToken("the registration access token is invalid for this client");
  return managed;
}

/**
 * Read straight from D1 with an uncached store, not the provider's cached one: a management
 * call must see the row as it is now (a GET right after a PUT). Dynamic registration writes to
 * edge-op's own D1 `clients` table, so that is where it reads too.
 */
async function loadClient(ctx: RequestContext, clientId: string): Promise<Client> {
  const client = await new D1ClientStore(ctx.env.DB).find(clientId);
  if (!client) throw new InvalidToken("the registration access token is invalid for this client");
  return client;
}

/** Registration rules broken are invalid_client_metadata, or invalid_redirect_uri for a redirect URI (RFC 7591 §3.2.2). */
function validate(ctx: RequestContext, registration: ClientRegistration): void {
  try {
    validateClientRegistration(registration, ctx.settings.scopesSupported, {
      allowHttpNotificationEndpoints: ctx.settings.allowHttpNotificationEndpoints,
    });
  } catch (error) {
    if (!(error instanceof RegistrationError)) throw error;
    // The validator names the client first ("client "id": …"); the client knows its own id.
    const message = error.message.replace(/^client "[^"]*": /, "");
    if (message.startsWith("redirect_uri")) throw new InvalidRedirectUri(message);
    throw new InvalidClientMetadata(message);
  }
}

/** RFC 7592 §2.2: a client_secret in an update must be the one currently issued. */
async function checkSentSecret(current: Client, sent: unknown): Promise<void> {
  if (sent === undefined || sent === null) return;
  const matches =
    typeof sent === "string" &&
    current.client_secret_hash !== undefined &&
    digestsEqual(await sha256Hex(sent), current.client_secret_hash);
  if (!matches) throw new InvalidClientMetadata("client_secret does not match the secret issued to this client");
}

type SecretChoice = { kind: "none" } | { kind: "kept" } | { kind: "new"; value: string };

/**
 * A secret method keeps the current secret when it has one (for client_secret_jwt, only if it
 * is kept encrypted, since the provider must know it to check HMACs); otherwise a new one is
 * issued and returned once. Other methods have none.
 */
function secretFor(current: Client, method: Client["token_endpoint_auth_method"]): SecretChoice {
  if (!usesSecret(method)) return { kind: "none" };
  const usable = method === "client_secret_jwt" ? current.client_secret_encrypted : current.client_secret_hash;
  return usable ? { kind: "kept" } : { kind: "new", value: randomHandle(32) };
}

function secretExpiry(client: Client, information: ClientInformation): ClientInformation {
  return client.client_secret_hash ? { ...information, client_secret_expires_at: 0 } : information;
}

/** The client's metadata as registered, with RFC 7591 §3.2.1's and RFC 7592 §3's members. */
function clientInformation(client: Client | ClientRegistration, createdAt: number, clientUri: ClientUri) {
  const information: ClientInformation = {
    client_id: client.client_id,
    client_id_issued_at: createdAt,
    registration_client_uri: clientUri(client.client_id),
    client_name: client.client_name,
    token_endpoint_auth_method: client.token_endpoint_auth_method,
    grant_types: client.grant_types,
    response_types: client.grant_types.includes("authorization_code") ? ["code"] : [],
    redirect_uris: client.redirect_uris,
    scope: client.scope,
    backchannel_user_code_parameter: client.backchannel_user_code_parameter,
    require_pushed_authorization_requests: client.require_pushed_authorization_requests,
  };
  const optional = [
    "token_endpoint_auth_signing_alg",
    "jwks",
    "jwks_uri",
    "backchannel_token_delivery_mode",
    "backchannel_client_notification_endpoint",
    "backchannel_authentication_request_signing_alg",
    "request_object_signing_alg",
    "tls_client_auth_subject_dn",
    "tls_client_auth_san_dns",
    "tls_client_auth_san_uri",
    "tls_client_auth_san_ip",
    "tls_client_auth_san_email",
    "fapi_ciba",
    "profile",
    "dpop_bound_access_tokens",
    "authorization_details_types",
    "authorization_signed_response_alg",
    "post_logout_redirect_uris",
    "backchannel_logout_uri",
  ] as const;
  for (const field of optional) {
    if (client[field] !== undefined && client[field] !== null) information[field] = client[field];
  }
  return information;
}
