/** Registers clients and users straight into D1, the way the admin tool does. */
import { env } from "cloudflare:workers";
import { exportJWK, generateKeyPair, type JWK } from "jose";
import { type ClientRegistration, validateClientRegistration } from "../../src/clients/metadata";
import { CLIENT_COLUMNS, clientRow } from "../../src/clients/registry";
import { loadSettings } from "../../src/config";
import { type UserRegistration, userRow } from "../../src/users/store";

/** A registration with the tests' defaults (a client_credentials client with a secret) under `overrides`. */
export function testRegistration(overrides: Partial<ClientRegistration> & { client_id: string }): ClientRegistration {
  return {
    client_name: `Test client ${overrides.client_id}`,
    token_endpoint_auth_method: "client_secret_basic",
    client_secret: `${overrides.client_id}-secret-0123456789`,
    grant_types: ["client_credentials"],
    redirect_uris: [],
    scope: "openid profile email",
    backchannel_user_code_parameter: false,
    require_pushed_authorization_requests: false,
    ...overrides,
  };
}

export async function registerClient(
  overrides: Partial<ClientRegistration> & { client_id: string },
): Promise<ClientRegistration> {
  const reg = testRegistration(overrides);
  const settings = loadSettings(env);
  validateClientRegistration(reg, settings.scopesSupported, {
    allowHttpNotificationEndpoints: settings.allowHttpNotificationEndpoints,
  });
  const row = await clientRow(reg, env.DATA_ENCRYPTION_KEY);
  const values = CLIENT_COLUMNS.map((column) => row[column]);
  await env.DB.prepare(
    `INSERT INTO clients (${CLIENT_COLUMNS.join(", ")}) VALUES (${CLIENT_COLUMNS.map(() => "?").join(", ")})`,
  )
    .bind(...values)
    .run();
  return reg;
}

/**
 * The user's authenticator app as a registered client (the ciba:approve scope, never the CIBA
 * grant), whose tokens the tests mint: edge-op refuses a token whose client is not registered.
 */
export function registerAuthenticatorApp(): Promise<ClientRegistration> {
  return registerClient({
    client_id: "authenticator-app",
    grant_types: ["authorization_code"],
    redirect_uris: ["https://authenticator.example/cb"],
    scope: "openid ciba:approve",
  });
}

export async function registerUser(reg: UserRegistration): Promise<string> {
  const row = await userRow(reg, env.DATA_ENCRYPTION_KEY);
  const columns = Object.keys(row) as (keyof typeof row)[];
  await env.DB.prepare(`INSERT INTO users (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`)
    .bind(...columns.map((c) => row[c]))
    .run();
  return row.sub;
}

export async function clientKeyPair(alg = "ES256"): Promise<{ privateKey: CryptoKey; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid: crypto.randomUUID(), alg, use: "sig" };
  return { privateKey: privateKey as CryptoKey, publicJwk };
}
