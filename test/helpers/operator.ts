/**
 * An operator client for the console's JSON API (issue 17): client_credentials only, holding the
 * admin scope, registered as the admin tool does (the registry's validation with ADMIN_SCOPE
 * added to the deployment's scopes), and a token it got at /token.
 */
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { ADMIN_SCOPE, type ClientRegistration, validateClientRegistration } from "../../src/clients/metadata";
import { CLIENT_COLUMNS, clientRow } from "../../src/clients/registry";
import { loadSettings } from "../../src/config";
import { basic, postForm } from "./http";

/** Registers (or replaces) operator client `clientId` and returns an access token it got. */
export async function operatorToken(clientId: string): Promise<string> {
  const secret = `${clientId}-secret-0123456789`;
  const reg: ClientRegistration = {
    client_id: clientId,
    client_name: "Operator automation",
    token_endpoint_auth_method: "client_secret_basic",
    client_secret: secret,
    grant_types: ["client_credentials"],
    redirect_uris: [],
    scope: ADMIN_SCOPE,
    backchannel_user_code_parameter: false,
    require_pushed_authorization_requests: false,
  };
  // The deployment lists the admin scope in SCOPES_SUPPORTED.
  validateClientRegistration(reg, [...loadSettings(env).scopesSupported, ADMIN_SCOPE]);
  const row = await clientRow(reg, env.DATA_ENCRYPTION_KEY);
  await env.DB.prepare(
    `INSERT OR REPLACE INTO clients (${CLIENT_COLUMNS.join(", ")}) VALUES (${CLIENT_COLUMNS.map(() => "?").join(", ")})`,
  )
    .bind(...CLIENT_COLUMNS.map((column) => row[column]))
    .run();
  const response = await postForm("/token", { grant_type: "client_credentials" }, basic(clientId, secret));
  expect(response.status).toBe(200);
  const body = (await response.json()) as { access_token: string; scope: string };
  expect(body.scope).toBe(ADMIN_SCOPE);
  return body.access_token;
}
