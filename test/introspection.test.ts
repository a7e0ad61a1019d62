/**
 * Token introspection (RFC 7662) and its JWT response (RFC 9701), through openid-client's
 * tokenIntrospection against the Worker. Tokens of a user grant are issued the way the grants
 * issue them (issueUserTokens), client_credentials tokens through the token endpoint.
 */
import { env } from "cloudflare:workers";
import { calculateJwkThumbprint, decodeProtectedHeader, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import type { ClientRegistration } from "../src/clients/metadata";
import { loadSettings } from "../src/config";
import type { UserGrant } from "../src/tokens/grant";
import { newGrantId } from "../src/tokens/grant";
import { issueUserTokens } from "../src/tokens/issue";
import { mintAccessToken } from "../src/tokens/jwt";
import { loadKeys } from "../src/tokens/keys";
import { revokeGrant } from "../src/tokens/revoked-grants";
import { testContext } from "./helpers/context";
import { clientKeyPair, registerClient, registerUser } from "./helpers/fixtures";
import { basic, call, ISSUER, jsonOf, type OAuthErrorBody, postForm } from "./helpers/http";
import { certificates, postFormWithCertificate, thumbprint } from "./helpers/mtls";
import { client, discoverAs } from "./helpers/rp";

const API = "https://api.example.com/";
const OTHER_API = "https://other-api.example.com/";
let owner: ClientRegistration;
let subject = "";

beforeAll(async () => {
  owner = await registerClient({
    client_id: "in-owner",
    grant_types: ["refresh_token", "client_credentials"],
    scope: "openid profile offline_access api:read",
  });
  await registerClient({ client_id: "in-stranger" });
  await registerClient({ client_id: "in-api", introspection_resources: [API] });
  await registerClient({ client_id: "in-post", token_endpoint_auth_method: "client_secret_post" });
  subject = await registerUser({ username: "ina", password: "ina-password" });
});

function userGrant(overrides: Partial<UserGrant> = {}): UserGrant {
  return {
    clientId: "in-owner",
    subject,
    scopes: ["openid", "profile", "offline_access"],
    resources: [],
    authTime: Math.floor(Date.now() / 1000) - 60,
    amr: ["pwd"],
    grantId: newGrantId(),
    ...overrides,
  };
}

async function userTokens(grant = userGrant(), thumbprint?: string, dpopJkt?: string) {
  const tokens = await issueUserTokens(testContext(), { ...owner, certificateThumbprint: thumbprint, dpopJkt }, grant);
  if (!tokens.refresh_token) throw new Error("no refresh token issued");
  return { accessToken: tokens.access_token, refreshToken: tokens.refresh_token };
}

function as(clientId: string, metadata: Partial<client.ClientMetadata> = {}, auth?: client.ClientAuth) {
  const secret = `${clientId}-secret-0123456789`;
  return discoverAs(clientId, { client_secret: secret, ...metadata }, auth ?? client.ClientSecretBasic(secret));
}

function introspect(token: string, clientId = "in-owner", headers: Record<string, string> = {}) {
  return postForm("/introspect", { token }, { ...basic(clientId, `${clientId}-secret-0123456789`), ...headers });
}

describe("RFC 7662 §2.2: an active token's answer", () => {
  it("openid-client's tokenIntrospection shows an access token's scope, client_id, sub, aud, exp, iat, token_type and cnf", async () => {
    const { accessToken } = await userTokens(userGrant(), "thumbprint-of-the-client-certificate");
    const answer = await client.tokenIntrospection(await as("in-owner"), accessToken);
    expect(answer).toMatchObject({
      active: true,
      scope: "openid profile offline_access",
      client_id: "in-owner",
      sub: subject,
      aud: ISSUER,
      iss: ISSUER,
      token_type: "Bearer",
      cnf: { "x5t#S256": "thumbprint-of-the-client-certificate" },
    });
    expect(answer.exp).toBeGreaterThan(Math.floor(Date.now() / 1000));
    expect(answer.iat).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
  });

  it("cnf jkt: a DPoP-bound access token shows its key's thumbprint and token_type DPoP (RFC 9449 §6.2)", async () => {
    const { publicJwk } = await clientKeyPair();
    const jkt = await calculateJwkThumbprint(publicJwk, "sha256");
    const { accessToken } = await userTokens(userGrant(), undefined, jkt);
    const answer = await client.tokenIntrospection(await as("in-owner"), accessToken);
    expect(answer).toMatchObject({ active: true, token_type: "DPoP", cnf: { jkt } });
  });

  it("authorization_details: the details the token carries (RFC 9396 §9.1)", async () => {
    const authorizationDetails = [
      { type: "payment_initiation", instructedAmount: { currency: "EUR", amount: "12.50" }, creditorName: "Shop" },
    ];
    const { accessToken } = await userTokens(userGrant({ authorizationDetails }));
    const answer = await client.tokenIntrospection(await as("in-owner"), accessToken);
    expect(answer).toMatchObject({ active: true, authorization_details: authorizationDetails });
  });

  it("shows a refresh token as active, to the client it was issued to", async () => {
    const { refreshToken } = await userTokens();
    const answer = await client.tokenIntrospection(await as("in-owner"), refreshToken);
    expect(answer).toMatchObject({
      active: true,
      token_type: "refresh_token",
      client_id: "in-owner",
      sub: subject,
      scope: "openid profile offline_access",
    });
  });

  it("shows a client_credentials token (sub is the client)", async () => {
    const config = await as("in-owner");
    const { access_token } = await client.clientCredentialsGrant(config, { scope: "api:read" });
    const answer = await client.tokenIntrospection(config, access_token);
    expect(answer).toMatchObject({ active: true, sub: "in-owner", client_id: "in-owner", scope: "api:read" });
  });

  it("§2.1: authenticates the caller with any method edge-op supports (private_key_jwt)", async () => {
    const { privateKey, publicJwk } = await clientKeyPair();
    await registerClient({
      client_id: "in-key",
      token_endpoint_auth_method: "private_key_jwt",
      client_secret: undefined,
      jwks: { keys: [publicJwk as { kty: string }] },
      scope: "api:read",
    });
    const config = await discoverAs("in-key", undefined, client.PrivateKeyJwt(privateKey));
    const { access_token } = await client.clientCredentialsGrant(config);
    expect(await client.tokenIntrospection(config, access_token)).toMatchObject({ active: true, client_id: "in-key" });
    await client.tokenRevocation(config, access_token);
    expect((await client.tokenIntrospection(config, access_token)).active).toBe(false);
  });

  it("§2.1: a client assertion may name the introspection endpoint as its audience", async () => {
    const { privateKey, publicJwk } = await clientKeyPair();
    await registerClient({
      client_id: "in-key-aud",
      token_endpoint_auth_method: "private_key_jwt",
      client_secret: undefined,
      jwks: { keys: [publicJwk as { kty: string }] },
      scope: "api:read",
    });
    const assertion = await new SignJWT({ jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: "ES256", kid: publicJwk.kid })
      .setIssuer("in-key-aud")
      .setSubject("in-key-aud")
      .setAudience(`${ISSUER}/introspect`)
      .setIssuedAt()
      .setExpirationTime("1m")
      .sign(privateKey);
    const response = await postForm("/introspect", {
      token: "not-a-token",
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
      client_assertion: assertion,
    });
    expect(await jsonOf(response)).toEqual({ status: 200, body: { active: false } });
  });

  it("§2.1: authenticates the caller with any method edge-op supports (client_secret_jwt)", async () => {
    const secret = "in-hmac-secret-0123456789abcdef0123456789";
    await registerClient({
      client_id: "in-hmac",
      token_endpoint_auth_method: "client_secret_jwt",
      client_secret: secret,
      scope: "api:read",
    });
    const config = await discoverAs("in-hmac", { client_secret: secret }, client.ClientSecretJwt(secret));
    const { access_token } = await client.clientCredentialsGrant(config);
    expect(await client.tokenIntrospection(config, access_token)).toMatchObject({ active: true, client_id: "in-hmac" });
  });

  it("§2.1: authenticates the caller with any method edge-op supports (tls_client_auth, self_signed_tls_client_auth)", async () => {
    const { kiosk, selfSigned } = certificates;
    await registerClient({
      client_id: "in-tls",
      token_endpoint_auth_method: "tls_client_auth",
      client_secret: undefined,
      tls_client_auth_subject_dn: "CN=kiosk-9,O=Example Bank,C=GB",
      scope: "api:read",
    });
    await registerClient({
      client_id: "in-self-signed",
      token_endpoint_auth_method: "self_signed_tls_client_auth",
      client_secret: undefined,
      jwks: { keys: [selfSigned.publicJwk as { kty: string }] },
      scope: "api:read",
    });
    for (const [clientId, certificate] of [
      ["in-tls", kiosk],
      ["in-self-signed", selfSigned],
    ] as const) {
      const issued = await postFormWithCertificate(
        "/token",
        { grant_type: "client_credentials", client_id: clientId },
        certificate,
      );
      const { access_token } = (await issued.json()) as { access_token: string };
      const answer = await postFormWithCertificate(
        "/introspect",
        { token: access_token, client_id: clientId },
        certificate,
      );
      expect(await jsonOf(answer)).toMatchObject({
        status: 200,
        body: { active: true, client_id: clientId, cnf: { "x5t#S256": await thumbprint(certificate) } },
      });
      // Without the certificate the same caller is not authenticated.
      const without = await postForm("/introspect", { token: access_token, client_id: clientId });
      expect(without.status).toBe(401);
    }
  });

  it("§2.1: authenticates the caller with any method edge-op supports (client_secret_post)", async () => {
    const config = await as("in-post", {}, client.ClientSecretPost("in-post-secret-0123456789"));
    const { access_token } = await client.clientCredentialsGrant(config);
    expect((await client.tokenIntrospection(config, access_token)).active).toBe(true);
  });
});

describe("RFC 7662 §2.2: active is false, and says nothing more", () => {
  async function inactive(response: Response) {
    const { status, body } = await jsonOf(response);
    expect(status).toBe(200);
    expect(body).toEqual({ active: false });
  }

  it("for an expired access token", async () => {
    const keys = await loadKeys(env.SIGNING_KEYS);
    const expired = await mintAccessToken(keys, {
      issuer: ISSUER,
      subject,
      clientId: "in-owner",
      audience: ISSUER,
      scope: "openid",
      lifetime: -10,
    });
    await inactive(await introspect(expired));
  });

  it("for the tokens of a revoked grant (a replayed refresh token revoked it)", async () => {
    const grant = userGrant();
    const { accessToken, refreshToken } = await userTokens(grant);
    await revokeGrant(env.DB, grant.grantId ?? "", "refresh_token_reuse", loadSettings(env));
    await inactive(await introspect(accessToken));
    await inactive(await introspect(refreshToken));
  });

  it("for a refresh token rotated away", async () => {
    const { refreshToken } = await userTokens();
    const refreshed = await postForm(
      "/token",
      { grant_type: "refresh_token", refresh_token: refreshToken },
      basic("in-owner", "in-owner-secret-0123456789"),
    );
    expect(refreshed.status).toBe(200);
    await inactive(await introspect(refreshToken));
  });

  it("for a token that is not one of ours", async () => {
    await inactive(await introspect("not-a-token"));
    await inactive(await introspect("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."));
    await inactive(await introspect("AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
  });

  it("§4: for another client's token, to a client that is not its resource server", async () => {
    const { accessToken, refreshToken } = await userTokens();
    await inactive(await introspect(accessToken, "in-stranger"));
    await inactive(await introspect(refreshToken, "in-stranger"));
  });
});

describe("RFC 7662 §4: a resource server may introspect the tokens meant for it", () => {
  it("introspection_resources: an access token whose aud names the resource is shown to it", async () => {
    const { accessToken } = await userTokens(userGrant({ resources: [API] }));
    const answer = await client.tokenIntrospection(await as("in-api"), accessToken);
    expect(answer).toMatchObject({ active: true, aud: [API], client_id: "in-owner", sub: subject });
  });

  it("a token for another resource is not", async () => {
    const { accessToken } = await userTokens(userGrant({ resources: [OTHER_API] }));
    expect(await jsonOf(await introspect(accessToken, "in-api"))).toEqual({ status: 200, body: { active: false } });
  });

  it("nor is a refresh token, even of a grant for the resource: resource servers never hold them", async () => {
    const { refreshToken } = await userTokens(userGrant({ resources: [API] }));
    expect(await jsonOf(await introspect(refreshToken, "in-api"))).toEqual({ status: 200, body: { active: false } });
  });
});

describe("RFC 9701: the JWT response", () => {
  it("§4: Accept application/token-introspection+jwt gets a signed JWT openid-client verifies", async () => {
    const { accessToken } = await userTokens();
    const config = await as("in-owner", { introspection_signed_response_alg: "ES256" });
    const answer = await client.tokenIntrospection(config, accessToken);
    expect(answer).toMatchObject({ active: true, client_id: "in-owner", sub: subject });
  });

  it("§5: typ token-introspection+jwt, iss, aud the caller, iat, and the answer in token_introspection", async () => {
    const response = await introspect("not-a-token", "in-owner", { accept: "application/token-introspection+jwt" });
    expect(response.headers.get("content-type")).toBe("application/token-introspection+jwt");
    const jwt = await response.text();
    expect(decodeProtectedHeader(jwt).typ).toBe("token-introspection+jwt");
    const claims = JSON.parse(atob((jwt.split(".")[1] ?? "").replace(/-/g, "+").replace(/_/g, "/")));
    expect(claims).toMatchObject({ iss: ISSUER, aud: "in-owner", token_introspection: { active: false } });
    expect(typeof claims.iat).toBe("number");
  });
});

describe("RFC 7662 §2.1: refusals", () => {
  it("a caller that does not authenticate: 401 invalid_client", async () => {
    const { status, body } = await jsonOf<OAuthErrorBody>(await postForm("/introspect", { token: "x" }));
    expect(status).toBe(401);
    expect(body.error).toBe("invalid_client");
  });

  it("a wrong client secret: 401 invalid_client", async () => {
    const response = await postForm("/introspect", { token: "x" }, basic("in-owner", "wrong-secret-0123456789"));
    expect(response.status).toBe(401);
  });

  it("no token parameter: 400 invalid_request", async () => {
    const response = await postForm("/introspect", {}, basic("in-owner", "in-owner-secret-0123456789"));
    expect(await jsonOf<OAuthErrorBody>(response)).toMatchObject({ status: 400, body: { error: "invalid_request" } });
  });

  it("GET: 405", async () => {
    expect((await call("/introspect")).status).toBe(405);
  });
});

describe("discovery", () => {
  it("RFC 8414 §2: lists introspection_endpoint and its auth methods", async () => {
    const body = (await (await call("/.well-known/openid-configuration")).json()) as Record<string, unknown>;
    expect(body.introspection_endpoint).toBe(`${ISSUER}/introspect`);
    expect(body.introspection_endpoint_auth_methods_supported).toContain("private_key_jwt");
  });
});
