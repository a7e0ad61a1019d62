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

async function userToken(scope: string, subject = sub): Promise<string> {
  const keys = await loadKeys(env.SIGNING_KEYS);
  return mintAccessToken(keys, {
    issuer: ISSUER,
    subject,
    clientId: "ui-client",
    audience: ISSUER,
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

  it("answers a missing token with 401 and a Bearer challenge", async () => {
    const response = await userinfo();
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer /);
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
