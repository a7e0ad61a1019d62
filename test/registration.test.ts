/**
 * Dynamic client registration (RFC 7591) with oauth4webapi, and client management (RFC 7592),
 * against the Worker. Initial access tokens are stored the way the admin tool's
 * `registration-token create` stores them (hashed, with an expiry).
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import * as oauth from "oauth4webapi";
import { beforeAll, describe, expect, it } from "vitest";
import { registrationTokenStatements } from "../scripts/lib/registration-token";
import { randomHandle, sha256Hex } from "../src/crypto/hash";
import { createProvider } from "../src/index";
import { storeInitialAccessToken } from "../src/registration/registration-store";
import { newGrantId } from "../src/tokens/grant";
import { issueUserTokens } from "../src/tokens/issue";
import { isGrantRevoked } from "../src/tokens/revoked-grants";
import { testContext } from "./helpers/context";
import { clientKeyPair, registerUser } from "./helpers/fixtures";
import { basic, call, ISSUER, jsonOf, type OAuthErrorBody, postForm } from "./helpers/http";

const viaWorker = ((url: string, options: RequestInit) =>
  exports.default.fetch(new Request(url, options))) as unknown as typeof fetch;
const fetchOptions = { [oauth.customFetch]: viaWorker, [oauth.allowInsecureRequests]: true };

let as: oauth.AuthorizationServer;
let initialAccessToken = "";

beforeAll(async () => {
  const issuer = new URL(ISSUER);
  as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, fetchOptions));
  initialAccessToken = randomHandle(32);
  await storeInitialAccessToken(env.DB, initialAccessToken, Math.floor(Date.now() / 1000) + 3600);
});

function register(body: unknown, token = initialAccessToken) {
  return call("/register", {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
}

function manage(uri: string, token: string, method = "GET", body?: unknown) {
  return call(new URL(uri).pathname, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { "content-type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
}

const WEB_APP = {
  client_name: "Dynamic web app",
  redirect_uris: ["https://rp.example.com/cb"],
  grant_types: ["authorization_code", "refresh_token"],
  response_types: ["code"],
  scope: "openid profile offline_access",
};

describe("RFC 7591 §3: registering a client", () => {
  it("oauth4webapi's dynamicClientRegistrationRequest registers a client that then gets tokens", async () => {
    const response = await oauth.dynamicClientRegistrationRequest(
      as,
      { ...WEB_APP, grant_types: ["client_credentials"], response_types: [], redirect_uris: [], scope: "api:read" },
      { ...fetchOptions, initialAccessToken },
    );
    const registered = await oauth.processDynamicClientRegistrationResponse(response);
    expect(registered.client_id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(registered.token_endpoint_auth_method).toBe("client_secret_basic");
    expect(registered.client_secret_expires_at).toBe(0);
    expect(registered.registration_client_uri).toBe(`${ISSUER}/register/${registered.client_id}`);
    expect(typeof registered.registration_access_token).toBe("string");
    const token = await postForm(
      "/token",
      { grant_type: "client_credentials", scope: "api:read" },
      basic(registered.client_id, String(registered.client_secret)),
    );
    expect(token.status).toBe(200);
  });

  it("§3.2.1: answers 201 with the metadata, client_id_issued_at and the defaults it applied", async () => {
    const { status, body } = await jsonOf(await register(WEB_APP));
    expect(status).toBe(201);
    expect(body).toMatchObject({ ...WEB_APP, token_endpoint_auth_method: "client_secret_basic" });
    expect(typeof body.client_id_issued_at).toBe("number");
  });

  it("stores the client secret and the registration access token only hashed", async () => {
    const { body } = await jsonOf(await register(WEB_APP));
    const row = await env.DB.prepare("SELECT * FROM clients WHERE client_id = ?").bind(body.client_id).first();
    const stored = JSON.stringify(row);
    expect(stored).not.toContain(String(body.client_secret));
    expect(stored).not.toContain(String(body.registration_access_token));
  });

  it("registers a private_key_jwt client with its keys, and issues it no secret", async () => {
    const { publicJwk } = await clientKeyPair();
    const { status, body } = await jsonOf(
      await register({ ...WEB_APP, token_endpoint_auth_method: "private_key_jwt", jwks: { keys: [publicJwk] } }),
    );
    expect(status).toBe(201);
    expect(body.client_secret).toBeUndefined();
  });

  it("RP-Initiated Logout §3.1 and Back-Channel Logout §2.2: registers post_logout_redirect_uris and backchannel_logout_uri", async () => {
    const logout = {
      post_logout_redirect_uris: ["https://rp.example.com/signed-out"],
      backchannel_logout_uri: "https://rp.example.com/backchannel-logout",
    };
    const { status, body } = await jsonOf(await register({ ...WEB_APP, ...logout }));
    expect(status).toBe(201);
    expect(body).toMatchObject(logout);
    const row = await env.DB.prepare(
      "SELECT post_logout_redirect_uris, backchannel_logout_uri FROM clients WHERE client_id = ?",
    )
      .bind(body.client_id)
      .first<{ post_logout_redirect_uris: string; backchannel_logout_uri: string }>();
    expect(JSON.parse(row?.post_logout_redirect_uris ?? "[]")).toEqual(logout.post_logout_redirect_uris);
    expect(row?.backchannel_logout_uri).toBe(logout.backchannel_logout_uri);
  });

  it("RFC 9449 §5.2, RFC 9396 §10, JARM §3: registers dpop_bound_access_tokens, authorization_details_types and authorization_signed_response_alg", async () => {
    const extra = {
      dpop_bound_access_tokens: true,
      authorization_details_types: ["payment_initiation"],
      authorization_signed_response_alg: "ES256",
    };
    const service = { client_name: "DPoP service", grant_types: ["client_credentials"], scope: "openid" };
    const { status, body } = await jsonOf(await register({ ...service, ...extra }));
    expect(status).toBe(201);
    expect(body).toMatchObject(extra);
    // RFC 9449 §5.2 holds the client to it: a token request without a DPoP proof is refused.
    const token = await jsonOf(
      await postForm(
        "/token",
        { grant_type: "client_credentials", scope: "openid" },
        basic(String(body.client_id), String(body.client_secret)),
      ),
    );
    expect(token.status).toBe(400);
    expect(token.body.error).toBe("invalid_dpop_proof");
  });

  it("a client may put itself under the FAPI 2.0 profile (profile: fapi2), and is then held to its rules", async () => {
    const { publicJwk } = await clientKeyPair();
    const fapi2 = {
      ...WEB_APP,
      profile: "fapi2",
      token_endpoint_auth_method: "private_key_jwt",
      token_endpoint_auth_signing_alg: "ES256",
      jwks: { keys: [publicJwk] },
    };
    const registered = await jsonOf(await register(fapi2));
    expect(registered.status).toBe(201);
    expect(registered.body.profile).toBe("fapi2");
    const refused = await jsonOf(await register({ ...fapi2, token_endpoint_auth_signing_alg: "RS256" }));
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: "invalid_client_metadata" });
    expect(refused.body.error_description).toMatch(/FAPI 2\.0 §5\.4\.1/);
  });

  it("§3.2.2 invalid_client_metadata: a profile edge-op does not have", async () => {
    const { status, body } = await jsonOf(await register({ ...WEB_APP, profile: "fapi3" }));
    expect(status).toBe(400);
    expect(body).toMatchObject({ error: "invalid_client_metadata" });
  });

  it("§2: ignores metadata only the operator sets (introspection_resources)", async () => {
    const { body } = await jsonOf(
      await register({ ...WEB_APP, introspection_resources: ["https://api.example.com/"] }),
    );
    const row = await env.DB.prepare("SELECT introspection_resources FROM clients WHERE client_id = ?")
      .bind(body.client_id)
      .first<{ introspection_resources: string | null }>();
    expect(row?.introspection_resources).toBeNull();
  });
});

describe("npm run admin -- registration-token create", () => {
  /** Runs the admin tool's SQL against the Worker's D1, as wrangler d1 execute would. */
  async function adminCreates(token: string, options: { lifetime: number; now?: number; label?: string }) {
    const { statements } = registrationTokenStatements(await sha256Hex(token), options);
    await env.DB.batch(statements.map((sql) => env.DB.prepare(sql)));
  }

  it("stores only the token's SHA-256, and the token it printed registers a client (RFC 7591 §3)", async () => {
    const token = randomHandle(32);
    await adminCreates(token, { lifetime: 3600, label: "partner onboarding" });
    const row = await env.DB.prepare("SELECT token_hash, label FROM registration_tokens WHERE label = ?")
      .bind("partner onboarding")
      .first<{ token_hash: string }>();
    expect(row?.token_hash).toBe(await sha256Hex(token));
    expect((await register(WEB_APP, token)).status).toBe(201);
  });

  it("a token past its --expires-in is refused: 401 invalid_token", async () => {
    const token = randomHandle(32);
    await adminCreates(token, { lifetime: 60, now: Math.floor(Date.now() / 1000) - 3600 });
    expect(await jsonOf<OAuthErrorBody>(await register(WEB_APP, token))).toMatchObject({
      status: 401,
      body: { error: "invalid_token" },
    });
  });
});

describe("RFC 7591 §3: refusals", () => {
  it("no initial access token: 401 with a Bearer challenge", async () => {
    const response = await register(WEB_APP, "");
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });

  it("an unknown initial access token: 401 invalid_token", async () => {
    const { status, body } = await jsonOf<OAuthErrorBody>(await register(WEB_APP, "not-an-initial-access-token"));
    expect(status).toBe(401);
    expect(body.error).toBe("invalid_token");
  });

  it("an expired initial access token: 401 invalid_token", async () => {
    const expired = randomHandle(32);
    await storeInitialAccessToken(env.DB, expired, Math.floor(Date.now() / 1000) - 1);
    expect((await register(WEB_APP, expired)).status).toBe(401);
  });

  it("§3.2.2 invalid_redirect_uri: plain http to another host", async () => {
    const { status, body } = await jsonOf<OAuthErrorBody>(
      await register({ ...WEB_APP, redirect_uris: ["http://rp.example.com/cb"] }),
    );
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_redirect_uri");
  });

  it("§3.2.2 invalid_client_metadata: a field of the wrong type", async () => {
    const { status, body } = await jsonOf<OAuthErrorBody>(
      await register({ ...WEB_APP, grant_types: "authorization_code" }),
    );
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_client_metadata");
  });

  it("§3.2.2 invalid_client_metadata: DPoP, RAR and JARM metadata of the wrong type or value", async () => {
    for (const wrong of [
      { dpop_bound_access_tokens: "yes" },
      { authorization_details_types: "payment_initiation" },
      { authorization_details_types: ["payment initiation!"] },
      { authorization_signed_response_alg: 256 },
      { authorization_signed_response_alg: "HS256" },
    ]) {
      const { status, body } = await jsonOf(await register({ ...WEB_APP, ...wrong }));
      expect({ wrong, status, error: body.error }).toEqual({ wrong, status: 400, error: "invalid_client_metadata" });
    }
  });

  it("§3.2.2 invalid_client_metadata: a scope the provider does not support", async () => {
    const { body } = await jsonOf<OAuthErrorBody>(await register({ ...WEB_APP, scope: "openid admin:everything" }));
    expect(body.error).toBe("invalid_client_metadata");
  });

  it("§3.2.2 invalid_client_metadata: the registry's FAPI-CIBA rules (client_secret_basic is not allowed)", async () => {
    const { status, body } = await jsonOf<OAuthErrorBody>(
      await register({
        grant_types: ["urn:openid:params:grant-type:ciba"],
        backchannel_token_delivery_mode: "poll",
        scope: "openid",
        fapi_ciba: true,
      }),
    );
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_client_metadata");
    expect(body.error_description).toMatch(/FAPI-CIBA/);
  });

  it("§3.2.2 invalid_client_metadata: the registry's CIBA rule (a CIBA client may not have ciba:approve)", async () => {
    const { body } = await jsonOf<OAuthErrorBody>(
      await register({
        grant_types: ["urn:openid:params:grant-type:ciba"],
        backchannel_token_delivery_mode: "poll",
        scope: "openid ciba:approve",
      }),
    );
    expect(body.error).toBe("invalid_client_metadata");
  });

  it("RP-Initiated Logout §3.1 invalid_client_metadata: a post_logout_redirect_uri with a fragment", async () => {
    const response = await register({ ...WEB_APP, post_logout_redirect_uris: ["https://rp.example.com/out#x"] });
    expect(await jsonOf<OAuthErrorBody>(response)).toMatchObject({
      status: 400,
      body: { error: "invalid_client_metadata" },
    });
  });

  it("Back-Channel Logout §2.2 invalid_client_metadata: a backchannel_logout_uri that is not a public host", async () => {
    const response = await register({ ...WEB_APP, backchannel_logout_uri: "https://10.0.0.1/backchannel-logout" });
    expect(await jsonOf<OAuthErrorBody>(response)).toMatchObject({
      status: 400,
      body: { error: "invalid_client_metadata" },
    });
  });

  it("§3.2.2 invalid_client_metadata: a jwks_uri that is not a public host (edge-op fetches it: checklist S3)", async () => {
    for (const jwksUri of ["https://169.254.169.254/latest/meta-data/", "https://10.0.0.1/jwks"]) {
      const response = await register({ ...WEB_APP, token_endpoint_auth_method: "private_key_jwt", jwks_uri: jwksUri });
      const { status, body } = await jsonOf<OAuthErrorBody>(response);
      expect(status, jwksUri).toBe(400);
      expect(body.error, jwksUri).toBe("invalid_client_metadata");
      expect(body.error_description, jwksUri).toMatch(/^jwks_uri must not name a non-public address/);
    }
  });

  it("§3.1: a body that is not JSON: 400 invalid_request", async () => {
    const response = await call("/register", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Bearer ${initialAccessToken}` },
      body: "client_name=x",
    });
    expect(await jsonOf<OAuthErrorBody>(response)).toMatchObject({ status: 400, body: { error: "invalid_request" } });
  });
});

describe("RFC 7591 §3 with the production setting (ALLOW_HTTP_NOTIFICATION_ENDPOINTS=false): where jwks_uri may point", () => {
  // The suite runs with the development switch on; a provider of its own gets the default.
  const production = createProvider<Cloudflare.Env>();
  const productionEnv = { ...env, ALLOW_HTTP_NOTIFICATION_ENDPOINTS: "false" };

  async function registerInProduction(body: unknown) {
    const ctx = createExecutionContext();
    const request = new Request(`${ISSUER}/register`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${initialAccessToken}` },
      body: JSON.stringify(body),
    });
    const response = await production.fetch(request, productionEnv, ctx);
    await waitOnExecutionContext(ctx);
    return jsonOf<OAuthErrorBody>(response);
  }

  const keyClient = (jwksUri: string) => ({
    ...WEB_APP,
    token_endpoint_auth_method: "private_key_jwt",
    jwks_uri: jwksUri,
  });

  it("§3.2.2 invalid_client_metadata: a loopback jwks_uri, over https or http", async () => {
    for (const jwksUri of ["https://127.0.0.1/jwks", "http://127.0.0.1:9000/jwks", "http://localhost/jwks"]) {
      const { status, body } = await registerInProduction(keyClient(jwksUri));
      expect(status, jwksUri).toBe(400);
      expect(body.error, jwksUri).toBe("invalid_client_metadata");
      expect(body.error_description, jwksUri).toMatch(/^jwks_uri must not name a non-public address: loopback/);
    }
  });

  it("§3.2.1: a jwks_uri on a public host registers", async () => {
    const { status, body } = await registerInProduction(keyClient("https://rp.example.com/jwks"));
    expect(status).toBe(201);
    expect(body).toMatchObject({ jwks_uri: "https://rp.example.com/jwks" });
  });
});

describe("RFC 7592: the client configuration endpoint", () => {
  async function registered() {
    const { body } = await jsonOf(await register(WEB_APP));
    return body as Record<string, string> & { registration_client_uri: string; registration_access_token: string };
  }

  it("§2.1 GET returns the current registration", async () => {
    const client = await registered();
    const { status, body } = await jsonOf(
      await manage(client.registration_client_uri, client.registration_access_token),
    );
    expect(status).toBe(200);
    expect(body).toMatchObject({ client_id: client.client_id, ...WEB_APP });
    expect(body.client_secret).toBeUndefined();
  });

  it("§2.2 PUT replaces the metadata and keeps the secret", async () => {
    const client = await registered();
    const update = {
      ...WEB_APP,
      client_id: client.client_id,
      client_name: "Renamed",
      redirect_uris: ["https://rp.example.com/new"],
    };
    const put = await jsonOf(
      await manage(client.registration_client_uri, client.registration_access_token, "PUT", update),
    );
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ client_name: "Renamed", redirect_uris: ["https://rp.example.com/new"] });
    const { body } = await jsonOf(await manage(client.registration_client_uri, client.registration_access_token));
    expect(body.client_name).toBe("Renamed");
    // The secret issued at registration still authenticates the client.
    const authenticated = await postForm(
      "/introspect",
      { token: "x" },
      basic(String(client.client_id), String(client.client_secret)),
    );
    expect(authenticated.status).toBe(200);
  });

  it("§2.2 PUT keeps what only the operator sets (introspection_resources, the CIBA and PAR lifetimes)", async () => {
    const client = await registered();
    await env.DB.prepare(
      "UPDATE clients SET introspection_resources = ?, par_request_lifetime = 30 WHERE client_id = ?",
    )
      .bind(JSON.stringify(["https://api.example.com/"]), client.client_id)
      .run();
    const put = await manage(client.registration_client_uri, client.registration_access_token, "PUT", {
      ...WEB_APP,
      client_id: client.client_id,
      client_name: "Renamed",
    });
    expect(put.status).toBe(200);
    const row = await env.DB.prepare(
      "SELECT client_name, introspection_resources, par_request_lifetime FROM clients WHERE client_id = ?",
    )
      .bind(client.client_id)
      .first();
    expect(row).toEqual({
      client_name: "Renamed",
      introspection_resources: JSON.stringify(["https://api.example.com/"]),
      par_request_lifetime: 30,
    });
  });

  it("§2.2 PUT with another client_id: 400 invalid_client_metadata", async () => {
    const client = await registered();
    const response = await manage(client.registration_client_uri, client.registration_access_token, "PUT", {
      ...WEB_APP,
      client_id: "someone-else",
    });
    expect(await jsonOf<OAuthErrorBody>(response)).toMatchObject({
      status: 400,
      body: { error: "invalid_client_metadata" },
    });
  });

  it("§2.2 PUT with a client_secret that is not the current one: 400 invalid_client_metadata", async () => {
    const client = await registered();
    const response = await manage(client.registration_client_uri, client.registration_access_token, "PUT", {
      ...WEB_APP,
      client_id: client.client_id,
      client_secret: "not-the-secret-0123456789",
    });
    expect((await jsonOf<OAuthErrorBody>(response)).body.error).toBe("invalid_client_metadata");
  });

  it("§2.2 PUT is validated like a registration (FAPI-CIBA rules included)", async () => {
    const client = await registered();
    const response = await manage(client.registration_client_uri, client.registration_access_token, "PUT", {
      client_id: client.client_id,
      grant_types: ["urn:openid:params:grant-type:ciba"],
      backchannel_token_delivery_mode: "push",
      scope: "openid",
      fapi_ciba: true,
    });
    expect((await jsonOf<OAuthErrorBody>(response)).body.error).toBe("invalid_client_metadata");
  });

  it("§2.3 DELETE removes the client: 204, then its configuration is gone", async () => {
    const client = await registered();
    const response = await manage(client.registration_client_uri, client.registration_access_token, "DELETE");
    expect(response.status).toBe(204);
    const row = await env.DB.prepare("SELECT 1 FROM clients WHERE client_id = ?").bind(client.client_id).first();
    expect(row).toBeNull();
    expect((await manage(client.registration_client_uri, client.registration_access_token)).status).toBe(401);
  });

  it("§2.3 DELETE also revokes the client's grants and forgets its consents", async () => {
    const { body } = await jsonOf(await register({ ...WEB_APP, grant_types: ["authorization_code", "refresh_token"] }));
    const clientId = String(body.client_id);
    const ctx = testContext();
    const registeredClient = await ctx.stores.clients.find(clientId);
    if (!registeredClient) throw new Error("the registered client is not found");
    const subject = await registerUser({ username: `dcr-${clientId}`, password: "dcr-user-password" });
    const grantId = newGrantId();
    const scopes = ["openid", "offline_access"];
    const tokens = await issueUserTokens(ctx, registeredClient, {
      clientId,
      subject,
      scopes,
      resources: [],
      authTime: Math.floor(Date.now() / 1000),
      amr: ["pwd"],
      sid: "dcr-session",
      grantId,
    });
    const familyId = tokens.refresh_token?.split(".")[0];
    await ctx.stores.sessionGrants.record(
      { sid: "dcr-session", subject, clientId, grantId, familyId, offlineAccess: true, scopes },
      3600,
    );
    await env.DB.prepare("INSERT INTO consents (subject, client_id, scopes, granted_at) VALUES (?, ?, ?, ?)")
      .bind(subject, clientId, "openid", Math.floor(Date.now() / 1000))
      .run();
    const uri = String(body.registration_client_uri);
    expect((await manage(uri, String(body.registration_access_token), "DELETE")).status).toBe(204);
    expect(await isGrantRevoked(env.DB, grantId)).toBe(true);
    const left = await env.DB.prepare(
      "SELECT (SELECT COUNT(*) FROM consents WHERE client_id = ?1) + (SELECT COUNT(*) FROM session_grants WHERE client_id = ?1) AS n",
    )
      .bind(clientId)
      .first<{ n: number }>();
    expect(left?.n).toBe(0);
  });

  it("§2.1: a wrong registration access token, or another client's: 401 invalid_token", async () => {
    const first = await registered();
    const second = await registered();
    const wrong = await jsonOf<OAuthErrorBody>(await manage(first.registration_client_uri, "wrong-token"));
    expect(wrong).toMatchObject({ status: 401, body: { error: "invalid_token" } });
    const crossed = await manage(first.registration_client_uri, second.registration_access_token);
    expect(crossed.status).toBe(401);
    const deleted = await manage(first.registration_client_uri, second.registration_access_token, "DELETE");
    expect(deleted.status).toBe(401);
    expect((await manage(first.registration_client_uri, first.registration_access_token)).status).toBe(200);
  });

  it("§2.1: a client the operator registered cannot be managed here", async () => {
    const response = await manage(`${ISSUER}/register/in-owner`, "anything");
    expect(response.status).toBe(401);
  });
});

describe("discovery", () => {
  it("RFC 8414 §2: lists registration_endpoint", () => {
    expect(as.registration_endpoint).toBe(`${ISSUER}/register`);
  });
});
