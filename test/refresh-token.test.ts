/**
 * The refresh_token grant (RFC 6749 §6) with rotation and reuse detection (OAuth 2.0 Security
 * BCP §4.14.2). A family is started by calling issueUserTokens directly, the way the CIBA and
 * authorization_code grants will; every refresh then goes through the token endpoint.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { jwtVerify } from "jose";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { ClientRegistration } from "../src/clients/metadata";
import { loadSettings } from "../src/config";
import { randomHandle, sha256Hex } from "../src/crypto/hash";
import { OAuthError } from "../src/errors";
import type { TokenResponse } from "../src/grants/token-response";
import type { UserGrant } from "../src/tokens/grant";
import { newGrantId } from "../src/tokens/grant";
import { issueUserTokens } from "../src/tokens/issue";
import { rotateRefreshToken } from "../src/tokens/refresh-tokens";
import { revokeGrant } from "../src/tokens/revoked-grants";
import { testContext } from "./helpers/context";
import { registerClient, registerUser } from "./helpers/fixtures";
import { basic, call, ISSUER, jsonOf, type OAuthErrorBody, postForm, publishedKeys } from "./helpers/http";
import { client, discoverAs } from "./helpers/rp";

const SECRET = "rt-client-secret-0123456789";
const OTHER_SECRET = "rt-other-secret-0123456789";
const THIRTY_DAYS = 2_592_000;

let rtClient: ClientRegistration;
let otherClient: ClientRegistration;
let noRefreshGrantClient: ClientRegistration;
let subject = "";

beforeAll(async () => {
  const scope = "openid profile email offline_access";
  rtClient = await registerClient({
    client_id: "rt-client",
    client_secret: SECRET,
    grant_types: ["refresh_token"],
    scope,
  });
  otherClient = await registerClient({
    client_id: "rt-other",
    client_secret: OTHER_SECRET,
    grant_types: ["refresh_token"],
    scope,
  });
  noRefreshGrantClient = await registerClient({
    client_id: "rt-no-refresh-grant",
    client_secret: "rt-no-refresh-secret-0123456789",
    grant_types: ["client_credentials"],
    scope,
  });
  subject = await registerUser({ username: "dora", password: "dora-password" });
});

afterEach(() => {
  vi.restoreAllMocks();
});

function userGrant(overrides: Partial<UserGrant> = {}): UserGrant {
  return {
    clientId: "rt-client",
    subject,
    scopes: ["openid", "profile", "offline_access"],
    resources: [],
    authTime: Math.floor(Date.now() / 1000) - 60,
    amr: ["pwd"],
    acr: "urn:example:loa:2",
    sid: "session-1",
    ...overrides,
  };
}

/** What the CIBA / authorization_code grant would return at the end of a login. */
async function startFamily(grant = userGrant(), registration = rtClient): Promise<TokenResponse> {
  return issueUserTokens(testContext(), registration, grant);
}

async function firstRefreshToken(grant = userGrant()): Promise<string> {
  const { refresh_token } = await startFamily(grant);
  if (!refresh_token) throw new Error("no refresh token was issued");
  return refresh_token;
}

async function refresh(refreshToken: string, extra: Record<string, string> = {}, auth = basic("rt-client", SECRET)) {
  return jsonOf<TokenResponse & OAuthErrorBody>(
    await postForm("/token", { grant_type: "refresh_token", refresh_token: refreshToken, ...extra }, auth),
  );
}

function userinfo(accessToken: string) {
  return call("/userinfo", { headers: { authorization: `Bearer ${accessToken}` } });
}

function familyOf(refreshToken: string) {
  const familyId = refreshToken.split(".")[0] ?? "";
  return env.REFRESH_TOKENS.get(env.REFRESH_TOKENS.idFromName(`rt:${familyId}`));
}

function familyExpiry(refreshToken: string): Promise<number | undefined> {
  return runInDurableObject(familyOf(refreshToken), (_, state) => {
    const row = state.storage.sql.exec<{ expires_at: number }>("SELECT expires_at FROM family").toArray()[0];
    return row?.expires_at;
  });
}

describe("issuing a refresh token with the first tokens", () => {
  it("issues one when offline_access was granted and the client may use the refresh_token grant", async () => {
    const tokens = await startFamily();
    expect(tokens.refresh_token).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
  });

  it("issues none without offline_access", async () => {
    const tokens = await startFamily(userGrant({ scopes: ["openid", "profile"] }));
    expect(tokens.access_token).toBeTruthy();
    expect(tokens.refresh_token).toBeUndefined();
  });

  it("issues none to a client not registered for the refresh_token grant", async () => {
    const tokens = await startFamily(userGrant({ clientId: "rt-no-refresh-grant" }), noRefreshGrantClient);
    expect(tokens.access_token).toBeTruthy();
    expect(tokens.refresh_token).toBeUndefined();
  });

  it("schedules the family's clean-up for REFRESH_TOKEN_TTL from now", async () => {
    const before = Math.floor(Date.now() / 1000);
    const token = await firstRefreshToken();
    const expiresAt = (await familyExpiry(token)) ?? 0;
    expect(expiresAt - before).toBeGreaterThanOrEqual(THIRTY_DAYS);
    expect(expiresAt - before).toBeLessThanOrEqual(THIRTY_DAYS + 5);
    const alarm = await runInDurableObject(familyOf(token), (_, state) => state.storage.getAlarm());
    expect(alarm).toBe(expiresAt * 1000);
  });
});

describe("refreshing (RFC 6749 §6) rotates the refresh token", () => {
  it("returns a new refresh token and fresh access and ID tokens for the same grant", async () => {
    const grant = userGrant();
    const first = await startFamily(grant);
    const { status, body } = await refresh(first.refresh_token ?? "");
    expect(status).toBe(200);
    expect(body.refresh_token).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    expect(body.refresh_token).not.toBe(first.refresh_token);
    expect(body.access_token).not.toBe(first.access_token);
    expect(body.scope).toBe("openid profile offline_access");

    const keys = await publishedKeys();
    const { payload: access } = await jwtVerify(body.access_token, keys, { issuer: ISSUER, typ: "at+jwt" });
    expect(access).toMatchObject({
      sub: subject,
      aud: ISSUER,
      client_id: "rt-client",
      scope: "openid profile offline_access",
      auth_time: grant.authTime,
      acr: "urn:example:loa:2",
      sid: "session-1",
    });
    const { payload: id } = await jwtVerify(body.id_token ?? "", keys, { issuer: ISSUER, audience: "rt-client" });
    expect(id).toMatchObject({ sub: subject, auth_time: grant.authTime, amr: ["pwd"], sid: "session-1" });
  });

  it("keeps the same family: the new token's family id is the old one's", async () => {
    const token = await firstRefreshToken();
    const { body } = await refresh(token);
    expect(body.refresh_token?.split(".")[0]).toBe(token.split(".")[0]);
  });

  it("works with openid-client's refreshTokenGrant, twice in a row", async () => {
    const config = await discoverAs("rt-client", SECRET, client.ClientSecretBasic(SECRET));
    const token = await firstRefreshToken();
    const once = await client.refreshTokenGrant(config, token);
    expect(once.refresh_token).toBeTruthy();
    expect(once.refresh_token).not.toBe(token);
    expect(once.claims()?.sub).toBe(subject);
    const twice = await client.refreshTokenGrant(config, once.refresh_token ?? "");
    expect(twice.refresh_token).not.toBe(once.refresh_token);
    expect(twice.access_token).toBeTruthy();
  });

  it("refuses the token it has just rotated away with invalid_grant", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const token = await firstRefreshToken();
    expect((await refresh(token)).status).toBe(200);
    const { status, body } = await refresh(token);
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_grant");
  });

  it("does not extend the family's lifetime", async () => {
    const token = await firstRefreshToken();
    const expiresAt = await familyExpiry(token);
    const { body } = await refresh(token);
    expect(await familyExpiry(body.refresh_token ?? "")).toBe(expiresAt);
  });

  it("requires the refresh_token parameter (invalid_request)", async () => {
    const { status, body } = await jsonOf<OAuthErrorBody>(
      await postForm("/token", { grant_type: "refresh_token" }, basic("rt-client", SECRET)),
    );
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_request");
  });
});

describe("reuse detection (OAuth 2.0 Security BCP §4.14.2)", () => {
  it("revokes the whole family when a rotated token is presented again: the newest token fails too", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const stolen = await firstRefreshToken();
    const legitimate = (await refresh(stolen)).body.refresh_token ?? "";

    const replay = await refresh(stolen);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe("invalid_grant");
    expect(replay.body.error_description).toMatch(/already used/);

    const afterwards = await refresh(legitimate);
    expect(afterwards.status).toBe(400);
    expect(afterwards.body.error).toBe("invalid_grant");
    expect(afterwards.body.error_description).toMatch(/revoked/);

    const logged = warn.mock.calls.map(([line]) => String(line));
    const event = logged.map((line) => JSON.parse(line)).find((e) => e.event === "refresh_token_reuse");
    expect(event).toMatchObject({ client_id: "rt-client", family_id: stolen.split(".")[0], sub: subject });
    expect(logged.join("\n")).not.toContain(stolen.split(".")[1]);
    expect(logged.join("\n")).not.toContain(legitimate.split(".")[1]);
  });

  it("revokes the grant's access tokens too: /userinfo refuses every one issued from the family", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const first = await startFamily();
    const rotated = await refresh(first.refresh_token ?? "");
    const accessTokens = [first.access_token, rotated.body.access_token];
    for (const token of accessTokens) expect((await userinfo(token)).status).toBe(200);

    await refresh(first.refresh_token ?? "");

    for (const token of accessTokens) {
      const response = await userinfo(token);
      expect(response.status).toBe(401);
      expect(((await response.json()) as OAuthErrorBody).error_description).toMatch(/revoked/);
    }
    // Another grant of the same user and client is untouched.
    expect((await userinfo((await startFamily()).access_token)).status).toBe(200);
  });

  it("lets at most one of two simultaneous refreshes with the same token succeed", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const token = await firstRefreshToken();
    const results = await Promise.all([refresh(token), refresh(token)]);
    const winners = results.filter((r) => r.status === 200);
    const losers = results.filter((r) => r.status !== 200);
    expect(winners).toHaveLength(1);
    expect(losers.map((r) => [r.status, r.body.error])).toEqual([[400, "invalid_grant"]]);
    // By design: the loser presented a token that had just been rotated away, which is exactly
    // what a replay looks like, so the family is revoked and the winner's new token fails too.
    // The client must not send concurrent refreshes; if it does, the user logs in again.
    const winnerToken = winners[0]?.body.refresh_token ?? "";
    expect((await refresh(winnerToken)).body.error).toBe("invalid_grant");
  });

  it("refuses a family whose grant is listed as revoked, even if the family itself was not revoked", async () => {
    vi.spyOn(console, "warn").mockImplementation(() => {});
    const grantId = newGrantId();
    const token = await firstRefreshToken(userGrant({ grantId }));
    await revokeGrant(env.DB, grantId, "authorization_code_reuse", loadSettings(env));
    const { status, body } = await refresh(token);
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_grant");
    expect(body.error_description).toMatch(/revoked/);
    // The family is revoked as well, so the next attempt stops at its object.
    const family = await runInDurableObject(familyOf(token), (_, state) =>
      state.storage.sql.exec<{ revoked: number }>("SELECT revoked FROM family").one(),
    );
    expect(family.revoked).toBe(1);
  });

  it("revoke() ends the family", async () => {
    const token = await firstRefreshToken();
    await familyOf(token).revoke(Math.floor(Date.now() / 1000) + 60);
    const { status, body } = await refresh(token);
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_grant");
    expect(body.error_description).toMatch(/revoked/);
  });
});

describe("tokens are bound to their client (RFC 6749 §6)", () => {
  it("refuses another client's refresh token with invalid_grant", async () => {
    const token = await firstRefreshToken();
    const { status, body } = await refresh(token, {}, basic("rt-other", OTHER_SECRET));
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_grant");
    expect(body.error_description).toMatch(/another client/);
    expect(otherClient.client_id).toBe("rt-other");
  });

  it("does not let another client's attempt use up or revoke the token", async () => {
    const token = await firstRefreshToken();
    await refresh(token, {}, basic("rt-other", OTHER_SECRET));
    expect((await refresh(token)).status).toBe(200);
  });

  it("refuses a client not registered for the grant with unauthorized_client", async () => {
    const token = await firstRefreshToken();
    const { status, body } = await refresh(token, {}, basic("rt-no-refresh-grant", "rt-no-refresh-secret-0123456789"));
    expect(status).toBe(400);
    expect(body.error).toBe("unauthorized_client");
  });
});

describe("malformed and unknown refresh tokens", () => {
  it("answers each with 400 invalid_grant, never a 5xx", async () => {
    const genuine = await firstRefreshToken();
    const [familyId = "", secret = ""] = genuine.split(".");
    const candidates = [
      "garbage",
      "a".repeat(10_000),
      `${familyId}.${secret}.${secret}`,
      `${familyId}${secret}`,
      `${familyId}.${secret}=`,
      `${familyId}.${secret.slice(1)}+`,
      `${familyId}.${secret.slice(1)}`,
      `${familyId.slice(1)}.${secret}`,
      ` ${familyId}.${secret.slice(1)}`,
      `${familyId}.${secret.slice(0, -1)}\u00e9`,
      "0".repeat(64),
      `${randomHandle(16)}.${randomHandle(32)}`, // well-formed, but no such family
      `${familyId}.${randomHandle(32)}`, // a real family, but not one of its tokens
    ];
    for (const candidate of candidates) {
      const { status, body } = await refresh(candidate);
      expect({ candidate: candidate.slice(0, 80), status, error: body.error }).toEqual({
        candidate: candidate.slice(0, 80),
        status: 400,
        error: "invalid_grant",
      });
    }
    // None of those attempts touched the genuine token.
    expect((await refresh(genuine)).status).toBe(200);
  });
});

describe("format check before any Durable Object is addressed", () => {
  /** A context whose REFRESH_TOKENS namespace counts every use (and otherwise works normally). */
  function watchedContext() {
    const ctx = testContext();
    const use = { count: 0 };
    const namespace = new Proxy(env.REFRESH_TOKENS, {
      get(target, property) {
        use.count++;
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const watchedEnv = new Proxy(ctx.env, {
      get: (target, property) => (property === "REFRESH_TOKENS" ? namespace : Reflect.get(target, property)),
    });
    return { ctx: { ...ctx, env: watchedEnv }, use };
  }

  it("refuses a token of the wrong shape with invalid_grant without touching the namespace", async () => {
    const { ctx, use } = watchedContext();
    const shape = `${randomHandle(16)}.${randomHandle(32)}`;
    for (const candidate of ["", "x", "a".repeat(66), `${shape}.`, `${shape.slice(0, -1)}=`, shape.replace(".", "/")]) {
      const error = await rotateRefreshToken(ctx, candidate, { client_id: "rt-client" }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OAuthError);
      expect((error as OAuthError).code).toBe("invalid_grant");
    }
    expect(use.count).toBe(0);
    // The watch itself works: a well-formed token does reach the namespace.
    await rotateRefreshToken(ctx, shape, { client_id: "rt-client" }).catch(() => undefined);
    expect(use.count).toBeGreaterThan(0);
  });
});

describe("scope on refresh (RFC 6749 §6)", () => {
  it("narrows this response's tokens; the family keeps its original scopes", async () => {
    const token = await firstRefreshToken();
    const narrowed = await refresh(token, { scope: "profile offline_access" });
    expect(narrowed.status).toBe(200);
    expect(narrowed.body.scope).toBe("profile offline_access");
    expect(narrowed.body.id_token).toBeUndefined();
    const { payload } = await jwtVerify(narrowed.body.access_token, await publishedKeys(), { issuer: ISSUER });
    expect(payload.scope).toBe("profile offline_access");

    const full = await refresh(narrowed.body.refresh_token ?? "");
    expect(full.status).toBe(200);
    expect(full.body.scope).toBe("openid profile offline_access");
    expect(full.body.id_token).toBeTruthy();
  });

  it("refuses a scope beyond the original grant with invalid_scope, without using up the token", async () => {
    const token = await firstRefreshToken();
    for (const scope of ["openid email", "api:read", "openid profile offline_access phone"]) {
      const { status, body } = await refresh(token, { scope });
      expect([scope, status, body.error]).toEqual([scope, 400, "invalid_scope"]);
    }
    expect((await refresh(token)).status).toBe(200);
  });
});

describe("expiry", () => {
  it("refuses a token once the family's expires_at has passed", async () => {
    const token = await firstRefreshToken();
    const expiresAt = (await familyExpiry(token)) ?? 0;
    const result = await familyOf(token).rotate(
      await sha256Hex(token),
      "rt-client",
      await sha256Hex("unused"),
      expiresAt,
    );
    expect(result).toEqual({ ok: false, reason: "expired" });
  });

  it("answers an expired token with invalid_grant, and the alarm then deletes the family", async () => {
    const token = await firstRefreshToken();
    const stub = familyOf(token);
    await runInDurableObject(stub, (_, state) => {
      state.storage.sql.exec("UPDATE family SET expires_at = ?", Math.floor(Date.now() / 1000) - 1);
    });
    const expired = await refresh(token);
    expect([expired.status, expired.body.error]).toEqual([400, "invalid_grant"]);
    expect(expired.body.error_description).toMatch(/expired/);

    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const rows = await runInDurableObject(stub, (_, state) => [
      state.storage.sql.exec("SELECT COUNT(*) AS n FROM family").one().n,
      state.storage.sql.exec("SELECT COUNT(*) AS n FROM rotated_token").one().n,
    ]);
    expect(rows).toEqual([0, 0]);
    // The same live instance still answers, now as for an unknown token.
    expect((await refresh(token)).body.error).toBe("invalid_grant");
  });

  it("keeps a family whose alarm fires before it has expired", async () => {
    const token = await firstRefreshToken();
    const expiresAt = (await familyExpiry(token)) ?? 0;
    await runDurableObjectAlarm(familyOf(token));
    expect(await runInDurableObject(familyOf(token), (_, state) => state.storage.getAlarm())).toBe(expiresAt * 1000);
    expect((await refresh(token)).status).toBe(200);
  });
});

describe("storage", () => {
  it("holds only SHA-256 hashes of refresh tokens, never a token", async () => {
    const first = await firstRefreshToken();
    const second = (await refresh(first)).body.refresh_token ?? "";
    const dump = await runInDurableObject(familyOf(first), (_, state) => {
      const tables = state.storage.sql
        .exec<{ name: string }>(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'",
        )
        .toArray()
        .map((t) => t.name);
      return JSON.stringify(
        tables.map((table) => [table, state.storage.sql.exec(`SELECT * FROM "${table}"`).toArray()]),
      );
    });
    expect(dump).toContain("rotated_token");
    for (const token of [first, second]) {
      expect(dump).not.toContain(token);
      expect(dump).not.toContain(token.split(".")[1]);
    }
    expect(dump).toContain(await sha256Hex(first));
    expect(dump).toContain(await sha256Hex(second));
  });
});
