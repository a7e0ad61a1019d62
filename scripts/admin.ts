/**
 * `npm run admin -- <command>`: register, list and remove clients and users in D1 (the local
 * database by default, the deployed one with --remote), and generate key material and, for
 * mutual TLS, local CAs and client certificates.
 * Every client goes through the provider's own `validateClientRegistration` and `clientRow`, and
 * every user through `userRow`, so D1 only ever holds what the provider can serve, and secrets
 * and passwords only as hashes. Run with --help for the commands.
 *
 * Exit codes: 0 done; 1 the operation failed (not found, already exists, wrangler or D1 error);
 * 2 bad command line or an invalid client or user (nothing was written).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { exportJWK, generateKeyPair } from "jose";
import {
  AUTH_METHODS,
  type AuthMethod,
  CLIENT_PROFILES,
  type ClientRegistration,
  DELIVERY_MODES,
  type DeliveryMode,
  type PublicJwk,
  RegistrationError,
  usesSecret,
  validateClientRegistration,
} from "../src/clients/metadata.ts";
import { CLIENT_COLUMNS, clientRow } from "../src/clients/registry.ts";
import { ConfigurationError } from "../src/config.ts";
import { generateVapidKeys } from "../src/push/vapid.ts";
import { SIGNING_ALGS } from "../src/tokens/keys.ts";
import { userRow } from "../src/users/store.ts";
import { hashUserCode, userCodeProblem } from "../src/users/user-code.ts";
import { OperationError, UsageError } from "./lib/admin-errors.ts";
import { runRemote } from "./lib/admin-remote.ts";
import {
  CertificateFileError,
  generateCa,
  normaliseDn,
  providerSubjectDn,
  readCertificateDir,
  writeCertificateDir,
  x5tS256,
  x509SubjectFromRfc4514,
} from "./lib/certificate-files.ts";
import { type Certificate, generateCertificate, type SubjectAltName } from "./lib/certificates.ts";
import { D1Error, type D1Target, d1Command } from "./lib/d1.ts";
import { readDevVars } from "./lib/dev-vars.ts";
import { registrationTokenStatements } from "./lib/registration-token.ts";
import { clientRemovalStatements, userRemovalStatements } from "./lib/removal.ts";
import { allowHttpNotificationEndpoints, scopesSupported, wranglerTomlVars } from "./lib/settings.ts";
import { clientUpsertStatement, deleteStatement, insertStatement, sqlLiteral } from "./lib/sql.ts";
import { formatVapidKeys } from "./lib/vapid.ts";
import { assertSupportedNode, WranglerError } from "./lib/wrangler.ts";

const USAGE = `Usage: npm run admin -- <command> [options]

Clients
  client add --client-id ID [options]     register a client (validated like every client)
      --name NAME                         client_name (default: the client id)
      --auth-method METHOD                client_secret_basic (default), client_secret_post,
                                          client_secret_jwt, private_key_jwt, tls_client_auth or
                                          self_signed_tls_client_auth (mutual TLS, docs/mtls.md)
      --secret S | --generate-secret      the client secret (secret methods); without --secret a
                                          256-bit secret is generated and printed once
      --auth-signing-alg ALG              token_endpoint_auth_signing_alg (HS256… / ES256…)
      --jwks-file FILE | --jwks-uri URL   public keys for private_key_jwt (a JWK or a JWK set), or
                                          the certificate's public key for
                                          self_signed_tls_client_auth (certs generate --self-signed
                                          writes it as jwks.json)
      --tls-subject-dn DN                 tls_client_auth: the certificate's subject DN, e.g.
                                          "CN=kiosk-7,O=Example Bank,C=GB"; or instead exactly one of
      --tls-san-dns NAME | --tls-san-uri URI | --tls-san-ip IP | --tls-san-email ADDRESS
                                          a subjectAltName the certificate must carry
      --grant-types a,b                   default client_credentials; also authorization_code,
                                          refresh_token, urn:openid:params:grant-type:ciba
      --redirect-uris u1,u2               redirect URIs (authorization_code)
      --scope "openid profile"            scopes the client may get (default: openid)
      --delivery-mode poll|ping|push      CIBA token delivery mode
      --notification-endpoint URL         CIBA ping/push client notification endpoint (https; http on
                                          localhost only with ALLOW_HTTP_NOTIFICATION_ENDPOINTS=true)
      --backchannel-signing-alg ALG       backchannel_authentication_request_signing_alg
      --user-code                         backchannel_user_code_parameter
      --require-par                       require_pushed_authorization_requests
      --par-lifetime N                    par_request_lifetime, seconds (10–599)
      --request-object-alg ALG            request_object_signing_alg: PAR requests must then be
                                          request objects signed with ALG (ES256, PS256, EdDSA), with
                                          nbf and exp at most 60 min apart (FAPI 2.0 Message Signing)
      --ciba-lifetime N                   ciba_request_lifetime, seconds (10–3600)
      --ciba-interval N                   ciba_polling_interval, seconds (1–60)
      --fapi-ciba                         the FAPI-CIBA profile: private_key_jwt or mTLS, PS256/ES256/EdDSA, keys,
                                          signed requests with binding_message, poll or ping
      --profile fapi2                     the FAPI 2.0 Security Profile (docs/fapi.md): private_key_jwt
                                          (PS256/ES256/EdDSA, aud = the issuer only) or mTLS, PAR,
                                          DPoP or mTLS-bound tokens, codes of at most 60 s, refresh
                                          tokens not rotated
      --dpop-bound                        dpop_bound_access_tokens: every token request needs a DPoP proof
      --authorization-details-types t1,t2 authorization_details_types (RFC 9396), e.g. payment_initiation
      --authorization-signed-response-alg ALG
                                          authorization_signed_response_alg (JARM), e.g. ES256
      --introspection-resources u1,u2     resources (absolute URIs) this client serves as a resource
                                          server: it may introspect tokens whose aud names one
                                          (docs/token-lifecycle.md)
      --replace                           overwrite the metadata of an existing client with this id
                                          (it stays the same client: its tokens stay valid)
  client list                             id, name, auth method, grants, delivery mode
  client remove --client-id ID

Dynamic client registration (RFC 7591; docs/token-lifecycle.md)
  registration-token create [--expires-in N] [--label TEXT]
                                          an initial access token for POST /register, printed
                                          once and stored only hashed; good for N seconds
                                          (default 86400), for as many registrations as needed

Users
  user add --username U --password P [options]
      --email E [--email-verified]        e-mail address
      --phone P [--phone-verified]        phone number, E.164 (+15550100001)
      --name N --given-name G --family-name F
      --sub S                             subject identifier (default: a random UUID)
      --admin                             give the user the admin role: the console at /admin
                                          (docs/admin-console.md)
      --ciba-user-code CODE               the user's CIBA user_code, for clients registered with
                                          --user-code: at least 6 characters, stored as an HMAC
                                          keyed from DATA_ENCRYPTION_KEY
  user set-code --username U --ciba-user-code CODE
                                          set or replace a user's CIBA user_code (also replaces a
                                          code stored by an older edge-op as a bare SHA-256)
  user list                               sub, username, e-mail, phone, name
  user remove --username U
  user disable --username U | user enable --username U
                                          (with --remote <url> only) a disabled user cannot sign
                                          in or be named in a CIBA request; their sessions end and
                                          their tokens are revoked

Certificates for mutual TLS (local testing; written as cert.pem and key.pem in --out DIR)
  certs ca --out DIR [--subject DN] [--days N]
                                          a local CA (default subject "CN=edge-op local CA",
                                          10 years) to issue client certificates with
  certs generate --subject DN --out DIR [options]
                                          an ECDSA P-256 client certificate and key
      --san-dns NAME, --san-uri URI, --san-ip IP, --san-email ADDRESS
                                          subjectAltNames (each may be repeated)
      --self-signed                       self-signed (default), for self_signed_tls_client_auth;
                                          also writes jwks.json (its public key) for --jwks-file
      --ca-dir DIR                        issued by the CA in DIR (certs ca, or .dev-certs/ca from
                                          \`npm start -- --mtls\`), for tls_client_auth
      --days N                            validity in days (default 365)

Keys (printed to stdout; use \`npm run -s admin -- …\` to keep npm's banner out of a pipe)
  keys generate [--alg ES256] [--kid KID] [--set]
                                          a new private signing JWK (ES256, PS256, EdDSA or
                                          RS256); --set wraps it as a SIGNING_KEYS value
  keys data-key                           a new DATA_ENCRYPTION_KEY (32 random bytes, base64url)
  keys vapid [--json]                     a new Web Push key pair: VAPID_PUBLIC_KEY and
                                          VAPID_PRIVATE_KEY lines (or JSON) for wrangler secret put

Database (client and user commands)
  --local                                 the local database of \`npm start\` (default)
  --remote                                the deployed database (needs \`wrangler login\` or
                                          CLOUDFLARE_API_TOKEN; client_secret_jwt clients and
                                          CIBA user_codes need DATA_ENCRYPTION_KEY in the
                                          environment)
  --remote <url>                          the provider at <url> (https; http on loopback only),
                                          through its admin API instead of SQL: client add, list,
                                          remove; user add, set-code, list, disable, enable. The
                                          Worker validates and audits. Credentials from the
                                          environment: EDGE_OP_ADMIN_TOKEN (an access token with
                                          the admin scope), or EDGE_OP_ADMIN_CLIENT_ID (or
                                          --operator-client ID) and EDGE_OP_ADMIN_CLIENT_SECRET of
                                          an operator client (client_credentials, scope admin)

Exit codes: 0 done, 1 the operation failed, 2 bad command line or invalid client/user.
See docs/local-development.md and docs/configuration.md.
`;

const OPTIONS = {
  help: { type: "boolean", short: "h" },
  local: { type: "boolean" },
  remote: { type: "boolean" },
  // `--remote <url>` (rewritten to --remote-url before parsing): through the admin API
  "remote-url": { type: "string" },
  "operator-client": { type: "string" },
  // registration-token
  "expires-in": { type: "string" },
  label: { type: "string" },
  // client
  "client-id": { type: "string" },
  name: { type: "string" },
  "auth-method": { type: "string" },
  secret: { type: "string" },
  "generate-secret": { type: "boolean" },
  "auth-signing-alg": { type: "string" },
  "jwks-file": { type: "string" },
  "jwks-uri": { type: "string" },
  "tls-subject-dn": { type: "string" },
  "tls-san-dns": { type: "string" },
  "tls-san-uri": { type: "string" },
  "tls-san-ip": { type: "string" },
  "tls-san-email": { type: "string" },
  "grant-types": { type: "string" },
  "redirect-uris": { type: "string" },
  scope: { type: "string" },
  "delivery-mode": { type: "string" },
  "notification-endpoint": { type: "string" },
  "backchannel-signing-alg": { type: "string" },
  "user-code": { type: "boolean" },
  "require-par": { type: "boolean" },
  "par-lifetime": { type: "string" },
  "request-object-alg": { type: "string" },
  "ciba-lifetime": { type: "string" },
  "ciba-interval": { type: "string" },
  "fapi-ciba": { type: "boolean" },
  profile: { type: "string" },
  "dpop-bound": { type: "boolean" },
  "authorization-details-types": { type: "string" },
  "authorization-signed-response-alg": { type: "string" },
  "introspection-resources": { type: "string" },
  replace: { type: "boolean" },
  // user
  username: { type: "string" },
  password: { type: "string" },
  email: { type: "string" },
  "email-verified": { type: "boolean" },
  phone: { type: "string" },
  "phone-verified": { type: "boolean" },
  admin: { type: "boolean" },
  "given-name": { type: "string" },
  "family-name": { type: "string" },
  sub: { type: "string" },
  "ciba-user-code": { type: "string" },
  // keys
  alg: { type: "string" },
  kid: { type: "string" },
  set: { type: "boolean" },
  json: { type: "boolean" },
  // certs
  subject: { type: "string" },
  "san-dns": { type: "string", multiple: true },
  "san-uri": { type: "string", multiple: true },
  "san-ip": { type: "string", multiple: true },
  "san-email": { type: "string", multiple: true },
  "self-signed": { type: "boolean" },
  "ca-dir": { type: "string" },
  out: { type: "string" },
  days: { type: "string" },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>["values"];

/** Which options each command accepts; anything else is refused rather than silently ignored. */
const COMMANDS: Record<string, { options: readonly (keyof typeof OPTIONS)[]; run: (v: Values) => Promise<void> }> = {
  "client add": {
    options: [
      "client-id",
      "name",
      "auth-method",
      "secret",
      "generate-secret",
      "auth-signing-alg",
      "jwks-file",
      "jwks-uri",
      "tls-subject-dn",
      "tls-san-dns",
      "tls-san-uri",
      "tls-san-ip",
      "tls-san-email",
      "grant-types",
      "redirect-uris",
      "scope",
      "delivery-mode",
      "notification-endpoint",
      "backchannel-signing-alg",
      "user-code",
      "require-par",
      "par-lifetime",
      "request-object-alg",
      "ciba-lifetime",
      "ciba-interval",
      "fapi-ciba",
      "profile",
      "dpop-bound",
      "authorization-details-types",
      "authorization-signed-response-alg",
      "introspection-resources",
      "replace",
    ],
    run: clientAdd,
  },
  "client list": { options: [], run: clientList },
  "registration-token create": { options: ["expires-in", "label"], run: registrationTokenCreate },
  "client remove": { options: ["client-id"], run: clientRemove },
  "user add": {
    options: [
      "username",
      "password",
      "email",
      "email-verified",
      "phone",
      "phone-verified",
      "name",
      "given-name",
      "family-name",
      "sub",
      "ciba-user-code",
      "admin",
    ],
    run: userAdd,
  },
  "user set-code": { options: ["username", "ciba-user-code"], run: userSetCode },
  "user list": { options: [], run: userList },
  "user disable": { options: ["username"], run: needsApi },
  "user enable": { options: ["username"], run: needsApi },
  "user remove": { options: ["username"], run: userRemove },
  "keys generate": { options: ["alg", "kid", "set"], run: keysGenerate },
  "keys data-key": { options: [], run: keysDataKey },
  "keys vapid": { options: ["json"], run: keysVapid },
  "certs ca": { options: ["out", "subject", "days"], run: certsCa },
  "certs generate": {
    options: ["subject", "san-dns", "san-uri", "san-ip", "san-email", "self-signed", "ca-dir", "out", "days"],
    run: certsGenerate,
  },
};

const DATABASE_OPTIONS = ["local", "remote"] as const;

/** Disabling revokes the user's tokens, which lives in the Worker's Durable Objects: not SQL. */
async function needsApi(): Promise<void> {
  throw new UsageError("this command runs through the admin API only: add --remote <url> (docs/admin-console.md)");
}

/**
 * `--remote <url>` (or `--remote=<url>`) selects the admin API; `--remote` alone keeps meaning
 * the deployed D1 through wrangler. node:util's parser has no optional values, so the URL form
 * is rewritten to --remote-url first.
 */
function withRemoteUrl(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const next = argv[i + 1];
    if (arg === "--remote" && next !== undefined && /^https?:\/\//i.test(next)) {
      out.push(`--remote-url=${next}`);
      i++;
    } else if (arg.startsWith("--remote=")) {
      out.push(`--remote-url=${arg.slice("--remote=".length)}`);
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** Commands that do not touch D1: no --local/--remote, no wrangler. */
function offline(command: string): boolean {
  return command.startsWith("keys ") || command.startsWith("certs ");
}

// ---------------------------------------------------------------------------------------------
// Helpers

function target(values: Values): D1Target {
  if (values.local && values.remote) throw new UsageError("choose one of --local and --remote");
  return values.remote ? "remote" : "local";
}

function where(t: D1Target): string {
  return t === "remote" ? "the remote (deployed) database" : "the local database";
}

function required(values: Values, name: "client-id" | "username" | "password"): string {
  const value = values[name];
  if (value === undefined || value === "") throw new UsageError(`--${name} is required`);
  return value;
}

function list(text: string | undefined): string[] {
  return (text ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}

function oneOf<T extends string>(values: readonly T[], text: string, option: string): T {
  if (!(values as readonly string[]).includes(text)) {
    throw new UsageError(`--${option} must be one of ${values.join(", ")}, got "${text}"`);
  }
  return text as T;
}

function integer(text: string | undefined, option: string): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,9}$/.test(text)) throw new UsageError(`--${option} must be a whole number of seconds, got "${text}"`);
  return Number(text);
}

function randomSecret(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
}

function readJwks(file: string): { keys: PublicJwk[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message;
    throw new UsageError(`--jwks-file ${file}: ${reason}`);
  }
  if (parsed && typeof parsed === "object" && "keys" in parsed) return parsed as { keys: PublicJwk[] };
  if (parsed && typeof parsed === "object" && "kty" in parsed) return { keys: [parsed as PublicJwk] };
  throw new UsageError(`--jwks-file ${file}: expected a JWK or a JWK set {"keys": [...]}`);
}

/**
 * DATA_ENCRYPTION_KEY (client_secret_jwt secrets are encrypted with it, CIBA user_codes hashed
 * with a key derived from it): .dev.vars locally, the environment for --remote.
 */
function dataEncryptionKey(t: D1Target, what: string): string {
  if (t === "local") {
    const key = readDevVars().DATA_ENCRYPTION_KEY;
    if (!key) throw new UsageError("DATA_ENCRYPTION_KEY is not in .dev.vars: run `npm start` once to create it");
    return key;
  }
  const key = process.env.DATA_ENCRYPTION_KEY;
  if (!key) {
    throw new UsageError(
      `${what}: set DATA_ENCRYPTION_KEY in the environment to the deployed Worker's DATA_ENCRYPTION_KEY secret`,
    );
  }
  return key;
}

async function supportedScopes(t: D1Target): Promise<string[]> {
  const tomlVars = await wranglerTomlVars();
  return t === "local" ? scopesSupported(readDevVars(), tomlVars) : scopesSupported(process.env, tomlVars);
}

/** The target Worker's ALLOW_HTTP_NOTIFICATION_ENDPOINTS, so a client it would refuse is not registered. */
async function httpNotificationEndpointsAllowed(t: D1Target): Promise<boolean> {
  const tomlVars = await wranglerTomlVars();
  return t === "local"
    ? allowHttpNotificationEndpoints(readDevVars(), tomlVars)
    : allowHttpNotificationEndpoints(process.env, tomlVars);
}

/** D1's UNIQUE errors name the column; turn them into a sentence. */
function conflict(error: unknown, noun: string, hint = ""): never {
  if (error instanceof D1Error) {
    const column = /UNIQUE constraint failed: \w+\.(\w+)/.exec(error.message)?.[1];
    if (column) throw new OperationError(`${noun} with this ${column.replaceAll("_", " ")} already exists${hint}`);
  }
  throw error;
}

function table(rows: string[][], header: string[]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

function text(value: unknown): string {
  return value === null || value === undefined ? "" : String(value);
}

// ---------------------------------------------------------------------------------------------
// Clients

async function clientAdd(values: Values): Promise<void> {
  const t = target(values);
  const clientId = required(values, "client-id");
  const method = oneOf(AUTH_METHODS, values["auth-method"] ?? "client_secret_basic", "auth-method") as AuthMethod;
  if (values.secret !== undefined && values["generate-secret"]) {
    throw new UsageError("use either --secret or --generate-secret");
  }
  if (!usesSecret(method) && values["generate-secret"]) {
    const instead =
      method === "tls_client_auth"
        ? "name the certificate with --tls-subject-dn or a --tls-san-… option"
        : "register keys with --jwks-file or --jwks-uri";
    throw new UsageError(`${method} clients have no secret; ${instead}`);
  }
  const generated = usesSecret(method) && values.secret === undefined ? randomSecret() : undefined;
  const deliveryMode = values["delivery-mode"];
  const reg: ClientRegistration = {
    client_id: clientId,
    client_name: values.name ?? clientId,
    token_endpoint_auth_method: method,
    token_endpoint_auth_signing_alg: values["auth-signing-alg"],
    client_secret: values.secret ?? generated,
    grant_types: values["grant-types"] === undefined ? ["client_credentials"] : list(values["grant-types"]),
    redirect_uris: list(values["redirect-uris"]),
    scope: (values.scope ?? "openid").split(/\s+/).filter(Boolean).join(" "),
    jwks: values["jwks-file"] === undefined ? undefined : readJwks(values["jwks-file"]),
    jwks_uri: values["jwks-uri"],
    tls_client_auth_subject_dn: values["tls-subject-dn"],
    tls_client_auth_san_dns: values["tls-san-dns"],
    tls_client_auth_san_uri: values["tls-san-uri"],
    tls_client_auth_san_ip: values["tls-san-ip"],
    tls_client_auth_san_email: values["tls-san-email"],
    backchannel_token_delivery_mode:
      deliveryMode === undefined ? undefined : (oneOf(DELIVERY_MODES, deliveryMode, "delivery-mode") as DeliveryMode),
    backchannel_client_notification_endpoint: values["notification-endpoint"],
    backchannel_authentication_request_signing_alg: values["backchannel-signing-alg"],
    backchannel_user_code_parameter: values["user-code"] ?? false,
    require_pushed_authorization_requests: values["require-par"] ?? false,
    par_request_lifetime: integer(values["par-lifetime"], "par-lifetime"),
    request_object_signing_alg: values["request-object-alg"],
    ciba_request_lifetime: integer(values["ciba-lifetime"], "ciba-lifetime"),
    ciba_polling_interval: integer(values["ciba-interval"], "ciba-interval"),
    fapi_ciba: values["fapi-ciba"] ?? false,
    profile: values.profile === undefined ? undefined : oneOf(CLIENT_PROFILES, values.profile, "profile"),
    dpop_bound_access_tokens: values["dpop-bound"] ?? false,
    authorization_signed_response_alg: values["authorization-signed-response-alg"],
  };
  const detailsTypes = list(values["authorization-details-types"]);
  if (detailsTypes.length > 0) reg.authorization_details_types = detailsTypes;
  const introspectionResources = list(values["introspection-resources"]);
  if (introspectionResources.length > 0) reg.introspection_resources = introspectionResources;
  validateClientRegistration(reg, await supportedScopes(t), {
    allowHttpNotificationEndpoints: await httpNotificationEndpointsAllowed(t),
  });
  const key =
    method === "client_secret_jwt" ? dataEncryptionKey(t, "client_secret_jwt secrets are stored encrypted") : undefined;
  const row = await clientRow(reg, key);
  // --replace updates the client in place: its registration time, which dates its tokens, stays.
  const sql = values.replace
    ? clientUpsertStatement(row)
    : insertStatement("clients", row, { columns: CLIENT_COLUMNS });
  await d1Command(t, sql).catch((error: unknown) => conflict(error, "a client", " (--replace overwrites it)"));
  console.log(`Client ${clientId} ${values.replace ? "saved" : "added"} in ${where(t)}.`);
  if (generated) {
    console.log(`client_secret: ${generated}`);
    console.log("This is the only time the secret is shown: D1 stores its hash. Keep it somewhere safe.");
  }
}

async function clientList(values: Values): Promise<void> {
  const t = target(values);
  const [rows = []] = await d1Command(
    t,
    "SELECT client_id, client_name, token_endpoint_auth_method, grant_types, backchannel_token_delivery_mode FROM clients ORDER BY client_id;",
  );
  if (rows.length === 0) {
    console.log(`No clients in ${where(t)}.`);
    return;
  }
  const grants = (json: unknown) => {
    try {
      return (JSON.parse(text(json)) as string[]).join(",");
    } catch {
      return text(json);
    }
  };
  console.log(
    table(
      rows.map((r) => [
        text(r.client_id),
        text(r.client_name),
        text(r.token_endpoint_auth_method),
        grants(r.grant_types),
        text(r.backchannel_token_delivery_mode),
      ]),
      ["CLIENT ID", "NAME", "AUTH METHOD", "GRANT TYPES", "DELIVERY MODE"],
    ),
  );
}

/**
 * RFC 7591 §3: an initial access token for /register. Only its SHA-256 hex is stored (as
 * src/registration/registration-store.ts looks it up), with its expiry; expired ones are pruned.
 */
async function registrationTokenCreate(values: Values): Promise<void> {
  const t = target(values);
  const lifetime = integer(values["expires-in"], "expires-in") ?? 86_400;
  if (lifetime < 60) throw new UsageError("--expires-in must be at least 60 seconds");
  const label = values.label;
  if (label !== undefined && !/^[\x20-\x7e]{1,200}$/.test(label)) {
    throw new UsageError("--label must be 1–200 printable ASCII characters");
  }
  const token = randomSecret();
  const tokenHash = createHash("sha256").update(token).digest("hex");
  const { statements, expiresAt } = registrationTokenStatements(tokenHash, { label, lifetime });
  await d1Command(t, statements.join(""));
  console.error(
    `Initial access token created in ${where(t)}, valid until ${new Date(expiresAt * 1000).toISOString()}.`,
  );
  console.error("It is shown only now; send it as Authorization: Bearer <token> to POST /register:");
  console.log(token);
}

async function clientRemove(values: Values): Promise<void> {
  const t = target(values);
  const clientId = required(values, "client-id");
  // Its consents and token families go with it (scripts/lib/removal.ts), in the same command.
  const statements = [...clientRemovalStatements(clientId), deleteStatement("clients", "client_id", clientId)];
  const deleted = (await d1Command(t, statements.join("\n"))).at(-1) ?? [];
  if (deleted.length === 0) throw new OperationError(`no client ${JSON.stringify(clientId)} in ${where(t)}`);
  console.log(`Client ${clientId} removed from ${where(t)}, with its consents and token families.`);
}

// ---------------------------------------------------------------------------------------------
// Users

async function userAdd(values: Values): Promise<void> {
  const t = target(values);
  const username = required(values, "username");
  const password = required(values, "password");
  const { email, phone, sub } = values;
  if (email !== undefined && !/^[^\s@]+@[^\s@]+$/.test(email))
    throw new UsageError(`--email ${email} is not an e-mail address`);
  if (phone !== undefined && !/^\+[1-9]\d{1,14}$/.test(phone)) {
    throw new UsageError(`--phone ${phone} must be in E.164 form, e.g. +15550100001`);
  }
  if (sub !== undefined && !/^[\x21-\x7e]{1,255}$/.test(sub)) {
    throw new UsageError("--sub must be 1–255 printable ASCII characters without spaces");
  }
  if (values["email-verified"] && email === undefined) throw new UsageError("--email-verified needs --email");
  if (values["phone-verified"] && phone === undefined) throw new UsageError("--phone-verified needs --phone");
  const userCode = values["ciba-user-code"];
  const key = userCode === undefined ? undefined : dataEncryptionKey(t, USER_CODE_KEY_NEEDED);
  let row: Awaited<ReturnType<typeof userRow>>;
  try {
    row = await userRow(
      {
        sub,
        username,
        password,
        email,
        email_verified: values["email-verified"] ?? false,
        phone_number: phone,
        phone_number_verified: values["phone-verified"] ?? false,
        name: values.name,
        given_name: values["given-name"],
        family_name: values["family-name"],
        user_code: userCode,
      },
      key,
    );
  } catch (error) {
    // userRow only throws for an invalid username, password or user_code.
    throw new UsageError((error as Error).message);
  }
  // The admin role (migrations/0060_admin_console.sql) goes in with the user, in one file.
  const grant = values.admin ? `\n${insertStatement("admin_roles", { sub: row.sub, granted_at: row.created_at })}` : "";
  await d1Command(t, `${insertStatement("users", row)}${grant}`).catch((error: unknown) => conflict(error, "a user"));
  console.log(`User ${username} added in ${where(t)} (sub ${row.sub})${values.admin ? " as an admin" : ""}.`);
}

const USER_CODE_KEY_NEEDED = "CIBA user_codes are stored as an HMAC keyed from DATA_ENCRYPTION_KEY";

async function userSetCode(values: Values): Promise<void> {
  const t = target(values);
  const username = required(values, "username");
  const code = values["ciba-user-code"];
  if (code === undefined) throw new UsageError("--ciba-user-code is required");
  const problem = userCodeProblem(code);
  if (problem) throw new UsageError(problem);
  const key = dataEncryptionKey(t, USER_CODE_KEY_NEEDED);
  const [found = []] = await d1Command(t, `SELECT sub FROM users WHERE username = ${sqlLiteral(username)};`);
  const sub = found[0]?.sub;
  if (typeof sub !== "string") throw new OperationError(`no user ${JSON.stringify(username)} in ${where(t)}`);
  // The hash is bound to the user's sub, so it is computed for this user and set by sub.
  const hash = await hashUserCode(key, sub, code);
  await d1Command(t, `UPDATE users SET user_code_hash = ${sqlLiteral(hash)} WHERE sub = ${sqlLiteral(sub)};`);
  console.log(`User ${username}'s CIBA user_code set in ${where(t)}.`);
}

async function userList(values: Values): Promise<void> {
  const t = target(values);
  const [rows = []] = await d1Command(
    t,
    "SELECT sub, username, email, email_verified, phone_number, phone_number_verified, name FROM users ORDER BY username;",
  );
  if (rows.length === 0) {
    console.log(`No users in ${where(t)}.`);
    return;
  }
  const verified = (value: unknown, flag: unknown) => (value ? `${text(value)}${flag === 1 ? " ✓" : ""}` : "");
  console.log(
    table(
      rows.map((r) => [
        text(r.username),
        text(r.sub),
        verified(r.email, r.email_verified),
        verified(r.phone_number, r.phone_number_verified),
        text(r.name),
      ]),
      ["USERNAME", "SUB", "EMAIL", "PHONE", "NAME"],
    ),
  );
  console.log("(✓ verified)");
}

async function userRemove(values: Values): Promise<void> {
  const t = target(values);
  const username = required(values, "username");
  // Its consents, sessions and token families go with it (scripts/lib/removal.ts), before the row.
  const statements = [...userRemovalStatements(username), deleteStatement("users", "username", username)];
  const deleted = (await d1Command(t, statements.join("\n"))).at(-1) ?? [];
  if (deleted.length === 0) throw new OperationError(`no user ${JSON.stringify(username)} in ${where(t)}`);
  console.log(`User ${username} removed from ${where(t)}, with their consents, sessions and token families.`);
}

// ---------------------------------------------------------------------------------------------
// Keys

async function keysGenerate(values: Values): Promise<void> {
  const alg = oneOf(SIGNING_ALGS, values.alg ?? "ES256", "alg");
  const kid = values.kid ?? `${new Date().toISOString().slice(0, 10)}-${crypto.randomUUID().slice(0, 8)}`;
  if (!/^[\x21-\x7e]{1,128}$/.test(kid)) throw new UsageError("--kid must be 1–128 printable ASCII characters");
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid, alg, use: "sig" };
  console.log(JSON.stringify(values.set ? { keys: [jwk] } : jwk));
}

async function keysDataKey(): Promise<void> {
  console.log(randomSecret());
}

async function keysVapid(values: Values): Promise<void> {
  console.log(formatVapidKeys(await generateVapidKeys(), values.json ? "json" : "env"));
}

// ---------------------------------------------------------------------------------------------
// Certificates (mutual TLS)

function requiredOption(values: Values, name: "out" | "subject"): string {
  const value = values[name];
  if (value === undefined || value === "") throw new UsageError(`--${name} is required`);
  return value;
}

function days(values: Values, fallback: number): number {
  const text = values.days;
  if (text === undefined) return fallback;
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1)
    throw new UsageError(`--days must be a whole number of days, got "${text}"`);
  return Number(text);
}

/** @peculiar/x509 throws plain errors for a malformed DN, SAN or IP address: a usage error. */
async function generating(what: string, make: () => Promise<Certificate>): Promise<Certificate> {
  try {
    return await make();
  } catch (error) {
    throw new UsageError(`cannot make the ${what}: ${(error as Error).message}`);
  }
}

async function writing(dir: string, certificate: Certificate, withJwks: boolean): Promise<void> {
  try {
    await writeCertificateDir(dir, certificate, { withJwks });
  } catch (error) {
    if (error instanceof CertificateFileError) throw new OperationError(error.message);
    throw error;
  }
}

async function certsCa(values: Values): Promise<void> {
  const out = requiredOption(values, "out");
  const subject = values.subject ?? "CN=edge-op local CA";
  const ca = await generating("CA", () => generateCa(subject, days(values, 3650)));
  await writing(out, ca, false);
  console.log(
    `Wrote ${join(out, "cert.pem")} and ${join(out, "key.pem")}: a CA, ${await providerSubjectDn(ca.derBase64)}.`,
  );
  console.log(
    `Issue client certificates with: npm run admin -- certs generate --ca-dir ${out} --subject "CN=…" --out DIR`,
  );
  console.log("Keep key.pem private. For Cloudflare, cert.pem is what you upload as your own CA (docs/mtls.md).");
}

async function certsGenerate(values: Values): Promise<void> {
  const out = requiredOption(values, "out");
  const subject = requiredOption(values, "subject");
  const caDir = values["ca-dir"];
  if (caDir !== undefined && values["self-signed"]) throw new UsageError("choose one of --self-signed and --ca-dir");
  const subjectAltNames: SubjectAltName[] = [
    ...(values["san-dns"] ?? []).map((value) => ({ type: "dns" as const, value })),
    ...(values["san-uri"] ?? []).map((value) => ({ type: "url" as const, value })),
    ...(values["san-ip"] ?? []).map((value) => ({ type: "ip" as const, value })),
    ...(values["san-email"] ?? []).map((value) => ({ type: "email" as const, value })),
  ];
  let issuer: Certificate | undefined;
  if (caDir !== undefined) {
    try {
      issuer = await readCertificateDir(caDir);
    } catch (error) {
      if (error instanceof CertificateFileError) throw new UsageError(`--ca-dir ${caDir}: ${error.message}`);
      throw error;
    }
  }
  const certificate = await generating("certificate", () =>
    generateCertificate({ subject: x509SubjectFromRfc4514(subject), subjectAltNames, issuer, days: days(values, 365) }),
  );
  // What the provider will read must be what was asked for (nothing dropped or reordered).
  const dn = await providerSubjectDn(certificate.derBase64);
  if (normaliseDn(dn) !== normaliseDn(subject)) {
    throw new UsageError(
      `--subject "${subject}" would be read as "${dn}"; write it as an RFC 4514 DN, e.g. CN=kiosk-7,O=Example`,
    );
  }
  const selfSigned = issuer === undefined;
  await writing(out, certificate, selfSigned);
  console.log(
    `Wrote ${join(out, "cert.pem")}, ${join(out, "key.pem")}${selfSigned ? ` and ${join(out, "jwks.json")}` : ""}: ` +
      (selfSigned ? "a self-signed client certificate." : `a client certificate issued by the CA in ${caDir}.`),
  );
  console.log(`  subject DN  ${dn}`);
  for (const san of subjectAltNames) console.log(`  SAN ${san.type.padEnd(7)} ${san.value}`);
  console.log(`  x5t#S256    ${x5tS256(certificate.derBase64)}   (what cnf.x5t#S256 of its tokens will be)`);
  console.log("Register a client that authenticates with it, e.g.:");
  if (selfSigned) {
    console.log(
      `  npm run admin -- client add --client-id ID --auth-method self_signed_tls_client_auth --jwks-file ${join(out, "jwks.json")} …`,
    );
  } else {
    const first = subjectAltNames[0];
    console.log(
      `  npm run admin -- client add --client-id ID --auth-method tls_client_auth --tls-subject-dn "${dn}" …`,
    );
    if (first) {
      const flag = { dns: "--tls-san-dns", url: "--tls-san-uri", ip: "--tls-san-ip", email: "--tls-san-email" }[
        first.type
      ];
      console.log(`  (or by subjectAltName instead of the DN: ${flag} ${first.value})`);
    }
  }
  console.log("key.pem is the client's private key: keep it private.");
}

// ---------------------------------------------------------------------------------------------

async function main(argv: string[]): Promise<number> {
  let values: Values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: withRemoteUrl(argv),
      options: OPTIONS,
      allowPositionals: true,
      strict: true,
    }));
  } catch (error) {
    // node:util's messages are long ("…To specify a positional argument starting with a '-'…").
    const message = (error as Error).message;
    const unknown = /^Unknown option '([^']+)'/.exec(message)?.[1];
    throw new UsageError(unknown ? `unknown option ${unknown}` : message);
  }
  if (values.help || positionals.length === 0) {
    process.stdout.write(USAGE);
    return positionals.length === 0 && !values.help ? 2 : 0;
  }
  const name = positionals.slice(0, 2).join(" ");
  const command = COMMANDS[name];
  if (!command || positionals.length > 2) throw new UsageError(`unknown command "${positionals.join(" ")}"`);
  if (values["remote-url"] !== undefined) {
    if (values.local || values.remote) throw new UsageError("--remote <url> goes without --local");
    await runRemote(name, values, process.env);
    return 0;
  }
  if (values["operator-client"] !== undefined) throw new UsageError("--operator-client needs --remote <url>");
  const allowed = new Set<string>(["help", ...command.options, ...(offline(name) ? [] : DATABASE_OPTIONS)]);
  const stray = Object.keys(values).filter((option) => !allowed.has(option));
  if (stray.length > 0) throw new UsageError(`${name} does not take ${stray.map((o) => `--${o}`).join(", ")}`);
  if (!offline(name)) {
    try {
      assertSupportedNode();
    } catch (error) {
      throw new OperationError((error as Error).message);
    }
  }
  await command.run(values);
  return 0;
}

process.exitCode = await main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError || error instanceof RegistrationError || error instanceof ConfigurationError) {
    console.error(`error: ${error.message}`);
    if (error instanceof UsageError && /^unknown |argument/.test(error.message)) {
      console.error("Run `npm run admin -- --help` for the commands.");
    }
    return 2;
  }
  if (error instanceof OperationError || error instanceof D1Error) {
    console.error(`error: ${error.message}`);
    return 1;
  }
  if (error instanceof WranglerError) {
    console.error(`error: ${error.message}\n${error.output}`);
    return 1;
  }
  console.error(error);
  return 1;
});
