/** UserInfo (OpenID Connect Core §5.3) with Bearer tokens (RFC 6750). */
import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { mintAccessToken } from "../src/tokens/jwt";
import { loadKeys } from "../src/tokens/keys";
import { registerClient, registerUser } from "./helpers/fixtures";
import { basic, call, ISSUER, jsonOf, type OAuthErrorBody, postForm } from "./helpers/http";

let sub = "";

beforeAll(async () => {
  await registerClient({ client_id: "ui-client", client_secret: "ui-secret-0123456789", scope: "openid api:read" });
  sub = await registerUser({
    username: "carol",
    password: "carol-password",
    email: "carol@example.com",
    email_verified: true,
    phone_number: "+15550100003",
    name: "Carol Example",
    given_name: "Carol",
  });
});

async function userToken(scope: string, subject = sub, audience: string | string[] = ISSUER): Promise<string> {
  const keys = await loadKeys(env.SIGNING_KEYS);
  return mintAccessToken(keys, {
    issuer: ISSUER,
    subject,
    clientId: "ui-client",
    audience,
    scope,
    lifetime: 60,
  });
}

function userinfo(token?: string, method = "GET") {
  return call("/userinfo", { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
}

describe("/userinfo", () => {
  it("returns the claims released by the token's scopes", async () => {
    const { status, body } = await jsonOf(await userinfo(await userToken("openid profile email")));
    expect(status).toBe(200);
    expect(body).toEqual({
      sub,
      name: "Carol Example",
      given_name: "Carol",
      preferred_username: "carol",
      email: "carol@example.com",
      email_verified: true,
    });
  });

  it("releases only sub for openid alone, and accepts POST", async () => {
    const { body } = await jsonOf(await userinfo(await userToken("openid"), "POST"));
    expect(body).toEqual({ sub });
  });

  it("RFC 6750 §3.1: answers a request without credentials with 401 and a Bearer challenge without an error code", async () => {
    const response = await userinfo();
    expect(response.status).toBe(401);
    const challenge = response.headers.get("www-authenticate") ?? "";
    expect(challenge).toMatch(/^Bearer\b/);
    // "If the request lacks any authentication information … SHOULD NOT include an error code
    // or other error information."
    expect(challenge).not.toMatch(/error/);
    expect(await response.text()).not.toMatch(/error/);
  });

  it("answers a forged, foreign or expired token with 401 invalid_token", async () => {
    const foreignKey = new TextEncoder().encode("x".repeat(32));
    const forged = await new SignJWT({ sub, scope: "openid", client_id: "ui-client" })
      .setProtectedHeader({ alg: "HS256", typ: "at+jwt" })
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setJti("j")
      .setExpirationTime("1m")
      .sign(foreignKey);
    const keys = await loadKeys(env.SIGNING_KEYS);
    const expired = await new SignJWT({ sub, scope: "openid", client_id: "ui-client", jti: "j" })
      .setProtectedHeader({ alg: keys.active.alg, kid: keys.active.kid, typ: "at+jwt" })
      .setIssuer(ISSUER)
      .setIssuedAt(Math.floor(Date.now() / 1000) - 600)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 300)
      .sign(keys.active.privateKey);
    for (const token of [forged, expired, "garbage"]) {
      const response = await userinfo(token);
      expect(response.status).toBe(401);
      expect(((await response.json()) as OAuthErrorBody).error).toBe("invalid_token");
    }
  });

  it("refuses a malformed Authorization header with 400", async () => {
    const response = await call("/userinfo", { headers: { authorization: "Bearer a b c" } });
    expect(response.status).toBe(400);
  });

  it("refuses a client_credentials token (no openid scope, no user) with 403 insufficient_scope", async () => {
    const tokens = (await (
      await postForm("/token", { grant_type: "client_credentials" }, basic("ui-client", "ui-secret-0123456789"))
    ).json()) as { access_token: string };
    const response = await userinfo(tokens.access_token);
    expect(response.status).toBe(403);
    expect(((await response.json()) as OAuthErrorBody).error).toBe("insufficient_scope");
  });

  it("refuses a token whose subject is not a user with 401", async () => {
    const response = await userinfo(await userToken("openid", "no-such-user"));
    expect(response.status).toBe(401);
  });
});

describe("/userinfo checks the access token's audience (RFC 9068 §4, RFC 8707)", () => {
  it("accepts a token for this provider: aud = the issuer (no resource requested) or the UserInfo endpoint", async () => {
    for (const audience of [ISSUER, `${ISSUER}/userinfo`, [ISSUER, `${ISSUER}/userinfo`]]) {
      const response = await userinfo(await userToken("openid", sub, audience));
      expect(response.status, JSON.stringify(audience)).toBe(200);
    }
  });

  it("refuses a token minted for another resource server with 401 invalid_token", async () => {
    const response = await userinfo(await userToken("openid", sub, "https://rs.example/"));
    expect(response.status).toBe(401);
    expect(((await response.json()) as OAuthErrorBody).error).toBe("invalid_token");
    expect(response.headers.get("www-authenticate")).toMatch(/error="invalid_token"/);
  });

  it("refuses a token shared with another resource server, which could replay it here", async () => {
    const response = await userinfo(await userToken("openid", sub, [ISSUER, "https://rs.example/"]));
    expect(response.status).toBe(401);
  });

  it("refuses a token meant only for the authenticator API", async () => {
    const response = await userinfo(await userToken("openid", sub, `${ISSUER}/api/ciba/requests`));
    expect(response.status).toBe(401);
  });
});
