/**
 * The local dev seed: three demo clients and two demo users that `npm start` loads into the local
 * D1 database on every start (INSERT OR REPLACE, so it is idempotent and repairs edited rows).
 * The data is exported so tests and docs can refer to the same clients and users.
 *
 * The secrets and passwords below are public, well-known and for local development only: the
 * seed only ever goes to the local database (`wrangler d1 execute --local`). They are stored the
 * way every secret is: rows come from the provider's own `clientRow` and `userRow`, so D1 holds
 * only the SHA-256 of each client secret and the PBKDF2 hash of each password (and a user_code,
 * if a seed user had one, only as an HMAC keyed from DATA_ENCRYPTION_KEY).
 */
import { type ClientRegistration, GRANT_TYPES, validateClientRegistration } from "../../src/clients/metadata.ts";
import { clientRow } from "../../src/clients/registry.ts";
import { type UserRegistration, userRow } from "../../src/users/store.ts";
import { clientUpsertStatement, insertStatement } from "./sql.ts";

/**
 * Registrations normally need a client secret of at least 16 characters. The demo secrets are
 * short, memorable and already in the docs ("demo-web-secret" has 15), so the seed, and only the
 * seed, validates with this lower limit. Generated secrets (`npm run admin -- client add`) are
 * 256-bit.
 */
export const DEV_SEED_MINIMUM_SECRET_LENGTH = 15;

/** A seed client with a secret: a registration whose (public, dev-only) secret is part of the data. */
export type DevClient = ClientRegistration & { client_secret: string };
/** A seed user, with a fixed `sub`. */
export type DevUser = UserRegistration & { sub: string };

/** A CIBA client (poll mode), e.g. a kiosk that asks a user to approve on their phone. */
export const DEMO_CIBA_CLIENT: DevClient = {
  client_id: "demo-ciba",
  client_secret: "demo-ciba-secret",
  client_name: "Demo kiosk (CIBA)",
  token_endpoint_auth_method: "client_secret_basic",
  grant_types: [GRANT_TYPES.ciba, GRANT_TYPES.clientCredentials, GRANT_TYPES.refreshToken],
  redirect_uris: [],
  scope: "openid profile email offline_access",
  backchannel_token_delivery_mode: "poll",
  backchannel_user_code_parameter: false,
  require_pushed_authorization_requests: false,
  // RFC 9396: it may ask the user to approve a payment (npm start turns the type on).
  authorization_details_types: ["payment_initiation"],
};

/** A web application using the authorization code flow, listening on localhost:3000. */
export const DEMO_WEB_CLIENT: DevClient = {
  client_id: "demo-web",
  client_secret: "demo-web-secret",
  client_name: "Demo web app",
  token_endpoint_auth_method: "client_secret_basic",
  grant_types: [GRANT_TYPES.authorizationCode, GRANT_TYPES.refreshToken],
  redirect_uris: ["http://localhost:3000/callback"],
  // OpenID RP-Initiated Logout: where /end-session may send the browser back to.
  post_logout_redirect_uris: ["http://localhost:3000/signed-out"],
  scope: "openid profile email offline_access",
  backchannel_user_code_parameter: false,
  require_pushed_authorization_requests: false,
};

/** The demo clients that authenticate with a client secret. */
export const DEV_CLIENTS: readonly DevClient[] = [DEMO_CIBA_CLIENT, DEMO_WEB_CLIENT];

/**
 * The certificate subject of DEMO_CIBA_MTLS_CLIENT: `npm start -- --mtls` issues a client
 * certificate with it from the dev CA (.dev-certs/demo-ciba-mtls/, scripts/lib/dev-certs.ts).
 */
export const DEMO_MTLS_SUBJECT_DN = "CN=demo-ciba-mtls";

/**
 * The CIBA kiosk again, authenticating with a TLS client certificate instead of a secret
 * (RFC 8705 tls_client_auth): its tokens are bound to that certificate (`cnf.x5t#S256`).
 * `npm start -- --mtls` and `npm run demo:ciba -- --mtls` use it; see docs/mtls.md.
 */
export const DEMO_CIBA_MTLS_CLIENT: ClientRegistration = {
  client_id: "demo-ciba-mtls",
  client_name: "Demo kiosk (CIBA, mutual TLS)",
  token_endpoint_auth_method: "tls_client_auth",
  tls_client_auth_subject_dn: DEMO_MTLS_SUBJECT_DN,
  grant_types: [GRANT_TYPES.ciba, GRANT_TYPES.refreshToken],
  redirect_uris: [],
  scope: "openid profile email offline_access",
  backchannel_token_delivery_mode: "poll",
  backchannel_user_code_parameter: false,
  require_pushed_authorization_requests: false,
};

/** The demo clients that authenticate with a TLS client certificate (no secret). */
export const DEV_CERTIFICATE_CLIENTS: readonly ClientRegistration[] = [DEMO_CIBA_MTLS_CLIENT];

/** Fixed subjects, so tokens and sessions stay valid across re-seeding. */
export const DEV_USERS: readonly DevUser[] = [
  {
    sub: "8f3e2a6c-4b1d-4e7a-9c2f-a11ce0000001",
    username: "alice",
    password: "alice-password",
    email: "alice@example.com",
    email_verified: true,
    phone_number: "+15550100001",
    phone_number_verified: true,
    name: "Alice Example",
    given_name: "Alice",
    family_name: "Example",
  },
  {
    sub: "2d9c7e41-6f0a-4b3e-8d15-b0b000000002",
    username: "bob",
    password: "bob-password",
    email: "bob@example.com",
    email_verified: true,
    phone_number: "+15550100002",
    phone_number_verified: true,
    name: "Bob Example",
    given_name: "Bob",
    family_name: "Example",
  },
];

/** The console's demo administrator (`admin` / `admin-password`, docs/admin-console.md). */
export const DEV_ADMIN: DevUser = {
  sub: "5a1d9e3b-7c42-4f08-a6d1-ad0000000003",
  username: "admin",
  password: "admin-password",
  name: "Demo Administrator",
};

/**
 * The seed as SQL for `wrangler d1 execute --file`: every client validated as the admin tool
 * validates it, every row built by the provider's own row functions. Throws RegistrationError
 * if a seed client is not one the provider could serve (e.g. a scope that is not supported).
 */
export async function devSeedSql(options: {
  scopesSupported: readonly string[];
  dataEncryptionKey?: string;
}): Promise<string> {
  const statements = ["-- edge-op dev seed (generated by scripts/lib/dev-seed.ts; local use only)"];
  for (const client of [...DEV_CLIENTS, ...DEV_CERTIFICATE_CLIENTS]) {
    validateClientRegistration(client, options.scopesSupported, {
      minimumSecretLength: DEV_SEED_MINIMUM_SECRET_LENGTH,
    });
    const row = await clientRow(client, options.dataEncryptionKey);
    statements.push(clientUpsertStatement(row));
  }
  for (const user of DEV_USERS) {
    statements.push(insertStatement("users", await userRow(user, options.dataEncryptionKey), { orReplace: true }));
  }
  statements.push(insertStatement("users", await userRow(DEV_ADMIN, options.dataEncryptionKey), { orReplace: true }));
  statements.push(insertStatement("admin_roles", { sub: DEV_ADMIN.sub, granted_at: 0 }, { orReplace: true }));
  return `${statements.join("\n")}\n`;
}
