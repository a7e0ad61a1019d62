/**
 * RFC 6749 §4.1.2: "If an authorization code is used more than once, the authorization server
 * MUST deny the request and SHOULD revoke (when possible) all tokens previously issued based on
 * that authorization code." Issue 12, item 1: a reuse that lands at any moment of the first
 * exchange (before, during or after the refresh-token family is created) must leave no working
 * token, and the grant's revocation must outlive every token of the grant.
 *
 * Codes are issued straight into their Durable Objects (as /authorize does at the end of a
 * sign-in) so that many can be raced; every exchange goes through the real token endpoint.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { issueCode, redeemCode } from "../src/authorize/codes";
import type { ClientRegistration } from "../src/clients/metadata";
import { loadSettings } from "../src/config";
import { OAuthError } from "../src/errors";
import { newGrantId } from "../src/tokens/grant";
import { issueUserTokens } from "../src/tokens/issue";
import { isGrantRevoked } from "../src/tokens/revoked-grants";
import { pkce } from "./helpers/authorize";
import { testContext } from "./helpers/context";
import { registerClient, registerUser } from "./helpers/fixtures";
import { basic, call, jsonOf, type OAuthErrorBody, postForm } from "./helpers/http";

const SECRET = "race-app-secret-0123456789";
const CALLBACK = "https://race.example/cb";
let raceApp: ClientRegistration;
let subject = "";

beforeAll(async () => {
  raceApp = await registerClient({
    client_id: "race-app",
    client_secret: SECRET,
    grant_types: ["authorization_code", "refresh_token"],
    redirect_uris: [CALLBACK],
    scope: "openid email offline_access",
  });
  subject = await registerUser({ username: "rachel", password: "rachel-password" });
});

/** A code as /authorize issues it after sign-in and consent, with its PKCE verifier. */
async function freshCode() {
  const { verifier, challenge } = await pkce();
  const grantId = newGrantId();
  const code = await issueCode(env, {
    grant: {
      clientId: "race-app",
      subject,
      scopes: ["openid", "email", "offline_access"],
      resources: [],
      authTime: Math.floor(Date.now() / 1000),
      amr: ["pwd"],
      grantId,
    },
    redirectUri: CALLBACK,
    codeChallenge: challenge,
    expiresAt: Math.floor(Date.now() / 1000) + 60,
  });
  return { code, verifier, challenge, grantId };
}

async function exchange(code: string, verifier: string) {
  const response = await postForm(
    "/token",
    { grant_type: "authorization_code", code, redirect_uri: CALLBACK, code_verifier: verifier },
    basic("race-app", SECRET),
  );
  return jsonOf<Record<string, string> & OAuthErrorBody>(response);
}

async function refresh(refreshToken: string) {
  return jsonOf<Record<string, string> & OAuthErrorBody>(
    await postForm("/token", { grant_type: "refresh_token", refresh_token: refreshToken }, basic("race-app", SECRET)),
  );
}

function userinfo(accessToken: string) {
  return call("/userinfo", { headers: { authorization: `Bearer ${accessToken}` } });
}

describe("RFC 6749 §4.1.2: a reused code revokes every token issued from it", () => {
  it("leaves no working refresh or access token however the exchanges of one code interleave", async () => {
    for (let trial = 0; trial < 12; trial++) {
      const { code, verifier } = await freshCode();
      const results = await Promise.all(Array.from({ length: 6 }, () => exchange(code, verifier)));
      // Exactly-once: at most one exchange got tokens (none, if every token was revoked in time).
      const issued = results.filter((r) => r.status === 200);
      expect(issued.length).toBeLessThanOrEqual(1);
      expect(results.filter((r) => r.status !== 200).every((r) => r.body.error === "invalid_grant")).toBe(true);
      for (const { body } of issued) {
        expect((await refresh(body.refresh_token ?? "")).body.error, `trial ${trial}`).toBe("invalid_grant");
        expect((await userinfo(body.access_token ?? "")).status, `trial ${trial}`).toBe(401);
      }
    }
  });

  it("revokes the refresh-token family when the reuse lands between redemption and the family's creation", async () => {
    const { code, verifier, challenge } = await freshCode();
    const context = testContext();
    // The first exchange has consumed the code but not yet issued its tokens …
    const redemption = await redeemCode(env, code, "race-app", CALLBACK, challenge);
    if (!redemption.ok) throw new Error(`redemption failed: ${redemption.reason}`);
    // … when the code is presented again,
    const reuse = await exchange(code, verifier);
    expect(reuse.body.error).toBe("invalid_grant");
    // so the first exchange, carrying on, must not start a family that outlives the revocation.
    const continued = issueUserTokens(context, raceApp, redemption.grant, {
      nonce: redemption.nonce,
      refreshFamilyId: redemption.refreshFamilyId,
    });
    await expect(continued).rejects.toBeInstanceOf(OAuthError);
    await expect(continued).rejects.toMatchObject({ code: "invalid_grant" });
  });

  it("revokes the family when the reuse lands after it was created", async () => {
    const { code, verifier } = await freshCode();
    const first = await exchange(code, verifier);
    expect(first.status).toBe(200);
    expect((await exchange(code, verifier)).body.error).toBe("invalid_grant");
    expect((await refresh(first.body.refresh_token ?? "")).body.error).toBe("invalid_grant");
    expect((await userinfo(first.body.access_token ?? "")).status).toBe(401);
  });
});

describe("a refresh-token family revoked before it was started", () => {
  it("cannot be started afterwards (the revocation leaves a tombstone)", async () => {
    const stub = env.REFRESH_TOKENS.get(env.REFRESH_TOKENS.idFromName("rt:never-started-family"));
    await stub.revoke(Math.floor(Date.now() / 1000) + 60);
    const grant = {
      clientId: "race-app",
      subject,
      scopes: ["openid", "offline_access"],
      resources: [],
      authTime: Math.floor(Date.now() / 1000),
      amr: ["pwd"],
    };
    expect(await stub.start(grant, "0".repeat(64), Math.floor(Date.now() / 1000) + 3600)).toBe("revoked");
  });
});

describe("revoked_grants", () => {
  it("keeps a grant revoked for as long as its refresh tokens and their access tokens can live", async () => {
    const settings = loadSettings(env);
    const { code, verifier, grantId } = await freshCode();
    const first = await exchange(code, verifier);
    expect(first.status).toBe(200);
    await exchange(code, verifier);
    const familyId = (first.body.refresh_token ?? "").split(".")[0] ?? "";
    const family = env.REFRESH_TOKENS.get(env.REFRESH_TOKENS.idFromName(`rt:${familyId}`));
    const familyExpiresAt = await runInDurableObject(family, (_, state) =>
      state.storage.sql.exec<{ expires_at: number }>("SELECT expires_at FROM family").one(),
    );
    const row = await env.DB.prepare("SELECT expires_at FROM revoked_grants WHERE grant_id = ?")
      .bind(grantId)
      .first<{ expires_at: number }>();
    // An access token minted by a refresh in the family's last second lives accessTokenTtl longer.
    expect(row?.expires_at).toBeGreaterThanOrEqual(familyExpiresAt.expires_at + settings.accessTokenTtl);
  });

  it("isGrantRevoked honours the row's expiry", async () => {
    const now = Math.floor(Date.now() / 1000);
    const [lapsed, live] = [newGrantId(), newGrantId()];
    const insert = "INSERT INTO revoked_grants (grant_id, revoked_at, expires_at, reason) VALUES (?, ?, ?, ?)";
    await env.DB.batch([
      env.DB.prepare(insert).bind(lapsed, now - 100, now - 1, "authorization_code_reuse"),
      env.DB.prepare(insert).bind(live, now - 100, now + 100, "authorization_code_reuse"),
    ]);
    expect(await isGrantRevoked(env.DB, lapsed)).toBe(false);
    expect(await isGrantRevoked(env.DB, live)).toBe(true);
  });
});
