/**
 * Token revocation (RFC 7009), through openid-client's tokenRevocation against the Worker: what
 * a revoked token does afterwards at the token endpoint, /userinfo and introspection.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { ClientRegistration } from "../src/clients/metadata";
import type { UserGrant } from "../src/tokens/grant";
import { newGrantId } from "../src/tokens/grant";
import { issueUserTokens } from "../src/tokens/issue";
import { testContext } from "./helpers/context";
import { registerClient, registerUser } from "./helpers/fixtures";
import { basic, call, ISSUER, jsonOf, type OAuthErrorBody, postForm } from "./helpers/http";
import { operatorToken } from "./helpers/operator";
import { client, discoverAs } from "./helpers/rp";

let owner: ClientRegistration;
let subject = "";

beforeAll(async () => {
  owner = await registerClient({
    client_id: "rv-owner",
    grant_types: ["refresh_token", "client_credentials"],
    scope: "openid profile offline_access api:read",
  });
  await registerClient({ client_id: "rv-stranger", grant_types: ["client_credentials"], scope: "api:read" });
  subject = await registerUser({ username: "rita", password: "rita-password" });
});

function userGrant(): UserGrant {
  return {
    clientId: "rv-owner",
    subject,
    scopes: ["openid", "profile", "offline_access"],
    resources: [],
    authTime: Math.floor(Date.now() / 1000) - 60,
    amr: ["pwd"],
    grantId: newGrantId(),
  };
}

async function userTokens() {
  const tokens = await issueUserTokens(testContext(), owner, userGrant());
  if (!tokens.refresh_token) throw new Error("no refresh token issued");
  return { accessToken: tokens.access_token, refreshToken: tokens.refresh_token };
}

const secretOf = (clientId: string) => `${clientId}-secret-0123456789`;

function as(clientId: string) {
  return discoverAs(clientId, { client_secret: secretOf(clientId) }, client.ClientSecretBasic(secretOf(clientId)));
}

function revoke(token: string, clientId = "rv-owner") {
  return postForm("/revoke", { token }, basic(clientId, secretOf(clientId)));
}

async function isActive(token: string): Promise<boolean> {
  const response = await postForm("/introspect", { token }, basic("rv-owner", secretOf("rv-owner")));
  return ((await response.json()) as { active: boolean }).active;
}

async function refresh(refreshToken: string) {
  return jsonOf<OAuthErrorBody>(
    await postForm(
      "/token",
      { grant_type: "refresh_token", refresh_token: refreshToken },
      basic("rv-owner", secretOf("rv-owner")),
    ),
  );
}

function userinfo(accessToken: string) {
  return call("/userinfo", { headers: { authorization: `Bearer ${accessToken}` } });
}

describe("RFC 7009 §2.1: revoking a refresh token", () => {
  it("openid-client's tokenRevocation revokes its family and the grant's access tokens", async () => {
    const { accessToken, refreshToken } = await userTokens();
    expect((await userinfo(accessToken)).status).toBe(200);
    await client.tokenRevocation(await as("rv-owner"), refreshToken, { token_type_hint: "refresh_token" });
    expect(await refresh(refreshToken)).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
    expect(await isActive(refreshToken)).toBe(false);
    expect(await isActive(accessToken)).toBe(false);
    expect((await userinfo(accessToken)).status).toBe(401);
  });
});

describe("RFC 7009 §2.1: revoking an access token", () => {
  it("revokes its grant: the access token and the grant's refresh token stop working at once", async () => {
    const { accessToken, refreshToken } = await userTokens();
    await client.tokenRevocation(await as("rv-owner"), accessToken);
    expect((await userinfo(accessToken)).status).toBe(401);
    expect(await isActive(accessToken)).toBe(false);
    expect(await isActive(refreshToken)).toBe(false);
    expect(await refresh(refreshToken)).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
  });

  it("revokes a client_credentials token, which has no grant, by its jti", async () => {
    const config = await as("rv-owner");
    const { access_token } = await client.clientCredentialsGrant(config, { scope: "api:read" });
    const other = await client.clientCredentialsGrant(config, { scope: "api:read" });
    expect(await isActive(access_token)).toBe(true);
    await client.tokenRevocation(config, access_token);
    expect(await isActive(access_token)).toBe(false);
    // Only that token: another of the same client stays good.
    expect(await isActive(other.access_token)).toBe(true);
  });
});

describe("RFC 7009 §2.1: a revoked client_credentials token at edge-op's own endpoint that takes them", () => {
  it("the admin API refuses an operator client's token at once after its revocation", async () => {
    const token = await operatorToken("rv-operator");
    const api = () => call("/admin/api/clients", { headers: { authorization: `Bearer ${token}` } });
    expect((await api()).status).toBe(200);
    expect((await revoke(token, "rv-operator")).status).toBe(200);
    expect((await api()).status).toBe(401);
  });
});

describe("RFC 7009 §2.2: the response", () => {
  it("200 with an empty body for a token that was revoked", async () => {
    const { refreshToken } = await userTokens();
    const response = await revoke(refreshToken);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("");
  });

  it("200 for an invalid token: unknown, malformed, or revoked already", async () => {
    const { refreshToken } = await userTokens();
    expect((await revoke(refreshToken)).status).toBe(200);
    expect((await revoke(refreshToken)).status).toBe(200);
    expect((await revoke("not-a-token")).status).toBe(200);
    expect((await revoke("AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")).status).toBe(200);
  });
});

describe("RFC 7009 §2.1: refusals", () => {
  it("the token was issued to another client: 400 invalid_request, and it stays valid", async () => {
    const { accessToken, refreshToken } = await userTokens();
    for (const token of [accessToken, refreshToken]) {
      const { status, body } = await jsonOf<OAuthErrorBody>(await revoke(token, "rv-stranger"));
      expect(status).toBe(400);
      expect(body.error).toBe("invalid_request");
      expect(await isActive(token)).toBe(true);
    }
    expect((await userinfo(accessToken)).status).toBe(200);
  });

  it("another client's client_credentials token: refused too", async () => {
    const stranger = await client.clientCredentialsGrant(await as("rv-stranger"), { scope: "api:read" });
    expect((await revoke(stranger.access_token)).status).toBe(400);
  });

  it("a caller that does not authenticate: 401 invalid_client", async () => {
    const { refreshToken } = await userTokens();
    const { status, body } = await jsonOf<OAuthErrorBody>(await postForm("/revoke", { token: refreshToken }));
    expect(status).toBe(401);
    expect(body.error).toBe("invalid_client");
    expect(await isActive(refreshToken)).toBe(true);
  });

  it("no token parameter: 400 invalid_request", async () => {
    const response = await postForm("/revoke", {}, basic("rv-owner", secretOf("rv-owner")));
    expect(await jsonOf<OAuthErrorBody>(response)).toMatchObject({ status: 400, body: { error: "invalid_request" } });
  });
});

describe("discovery", () => {
  it("RFC 8414 §2: lists revocation_endpoint and its auth methods", async () => {
    const body = (await (await call("/.well-known/openid-configuration")).json()) as Record<string, unknown>;
    expect(body.revocation_endpoint).toBe(`${ISSUER}/revoke`);
    expect(body.revocation_endpoint_auth_methods_supported).toContain("client_secret_basic");
  });
});
