/**
 * Signing keys in the console (issue 17, "Signing keys: list, add, retire, with the JWKS effect
 * shown"; docs/admin-console.md). A key added is in /jwks at once and signs only from
 * `signs_from` (so relying parties that cached /jwks see it first); a retired key stops signing
 * and stays in /jwks until `remove_after`, then leaves it. The private key is stored only sealed.
 * Every change writes an audit row; the API does what the pages do.
 *
 * The provider keeps stored keys per isolate for SIGNING_KEYS_CACHE_SECONDS: FRESH runs it with
 * no cache, as every isolate would be once its cache expires, so a row moved in time here (instead
 * of waiting minutes) is seen at once.
 */
import { env } from "cloudflare:workers";
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { removalDelay, SigningKeyAdmin } from "../src/admin/keys";
import { AdminStore } from "../src/admin/store";
import { loadSettings } from "../src/config";
import { jarmSigningKey } from "../src/jarm/response";
import { SigningKeyStore } from "../src/tokens/key-store";
import { loadKeys } from "../src/tokens/keys";
import { Browser } from "./helpers/browser";
import { backchannel, CIBA_GRANT, requestFor } from "./helpers/ciba";
import { testContext } from "./helpers/context";
import { registerClient, registerUser } from "./helpers/fixtures";
import { basic, call, ISSUER, type Vars } from "./helpers/http";
import { BackchannelAuthenticationInteractionService } from "./helpers/provider";

const FRESH: Vars = { SIGNING_KEYS_CACHE_SECONDS: "0" };
const SECRET_KID = JSON.parse(env.SIGNING_KEYS ?? "{}").keys[0].kid as string;
const CLIENT = "keys-kiosk";
const CLIENT_SECRET = "keys-kiosk-secret-0123456789";
const JSON_TYPE = { "content-type": "application/json" };
let admin: { browser: Browser; sub: string; password: string; csrf: string };
let userSub = "";

beforeAll(async () => {
  await registerClient({
    client_id: CLIENT,
    client_secret: CLIENT_SECRET,
    grant_types: [CIBA_GRANT],
    backchannel_token_delivery_mode: "poll",
    ciba_polling_interval: 1,
  });
  userSub = await registerUser({ username: "keys-user", password: "keys-user-password" });
  const username = `keys-admin-${crypto.randomUUID().slice(0, 8)}`;
  const password = `${username}-password`;
  const sub = await registerUser({ username, password });
  await env.DB.prepare("INSERT INTO admin_roles (sub, granted_at) VALUES (?, 0)").bind(sub).run();
  const browser = new Browser();
  expect((await browser.signIn(username, password, "/admin")).status).toBe(303);
  const csrf = Browser.csrfOf(await (await browser.get("/admin/keys")).text());
  admin = { browser, sub, password, csrf };
});

const now = () => Math.floor(Date.now() / 1000);

async function jwks(vars: Vars = FRESH): Promise<JSONWebKeySet> {
  const response = await call("/jwks", undefined, vars);
  expect(response.status).toBe(200);
  return (await response.json()) as JSONWebKeySet;
}

const kidsOf = (set: JSONWebKeySet) => set.keys.map((key) => key.kid);

/** A CIBA flow for keys-user, approved, redeemed at /token: the client's ID and access tokens. */
async function tokens(vars: Vars = FRESH): Promise<{ idToken: string; accessToken: string }> {
  const started = await backchannel(CLIENT, CLIENT_SECRET, { scope: "openid", login_hint: "keys-user" });
  expect(started.status).toBe(200);
  const { internalId } = await requestFor(started.body.auth_req_id);
  const outcome = await new BackchannelAuthenticationInteractionService(env).completeLoginRequest(
    { internalId, scopesValuesConsented: ["openid"] },
    { subject: userSub, sessionId: "s1", authTime: now(), amr: ["pwd"] },
  );
  expect(outcome.ok).toBe(true);
  const response = await call(
    "/token",
    {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...basic(CLIENT, CLIENT_SECRET) },
      body: new URLSearchParams({ grant_type: CIBA_GRANT, auth_req_id: started.body.auth_req_id }).toString(),
    },
    vars,
  );
  const body = (await response.json()) as { id_token: string; access_token: string };
  expect(response.status).toBe(200);
  return { idToken: body.id_token, accessToken: body.access_token };
}

const kidOf = (jwt: string) => decodeProtectedHeader(jwt).kid;

function api(path: string, body?: Record<string, unknown>) {
  if (body === undefined) return admin.browser.get(path);
  return admin.browser.send(path, {
    method: "POST",
    headers: { ...JSON_TYPE, "x-csrf-token": admin.csrf },
    body: JSON.stringify(body),
  });
}

async function auditActions(kid: string) {
  const { results } = await env.DB.prepare("SELECT actor, action FROM admin_audit WHERE target = ? ORDER BY id")
    .bind(kid)
    .all();
  return results;
}

async function row(kid: string) {
  return env.DB.prepare("SELECT * FROM signing_keys WHERE kid = ?").bind(kid).first<Record<string, unknown>>();
}

describe("add, sign, retire, remove: one console key's life", () => {
  let kid = "";
  let signedByIt: { idToken: string; accessToken: string };

  it("add: /jwks lists the new kid at once (even in the isolate's key cache), and an audit row records it", async () => {
    const before = kidsOf(await jwks({}));
    const html = await (await admin.browser.post("/admin/keys", { csrf: admin.csrf, alg: "ES256" })).text();
    const added = /Key (console-[\w-]+) added: \/jwks lists it now/.exec(html);
    expect(added?.[1]).toBeDefined();
    kid = added?.[1] ?? "";
    expect(before).not.toContain(kid);
    // The cached path (the Worker's default 60 s key cache) and an uncached one both list it.
    expect(kidsOf(await jwks({}))).toContain(kid);
    expect(kidsOf(await jwks())).toEqual([...before, kid]);
    expect(await auditActions(kid)).toEqual([{ actor: admin.sub, action: "key.add" }]);
  });

  it("the private key is stored only sealed with DATA_ENCRYPTION_KEY: no private member in the row, none in /jwks", async () => {
    const stored = await row(kid);
    expect(stored?.alg).toBe("ES256");
    expect(String(stored?.private_jwk_sealed)).toMatch(/^v1\./);
    expect(String(stored?.private_jwk_sealed)).not.toContain('"d"');
    expect(JSON.parse(String(stored?.public_jwk))).not.toHaveProperty("d");
    for (const key of (await jwks()).keys) expect(key).not.toHaveProperty("d");
  });

  it("tokens are still signed by the old key until signs_from (publish first: the 300 s max-age of /jwks plus the key cache)", async () => {
    const stored = await row(kid);
    const settings = loadSettings(env);
    expect(Number(stored?.signs_from) - Number(stored?.created_at)).toBe(300 + settings.signingKeysCacheSeconds);
    expect(kidOf((await tokens()).idToken)).toBe(SECRET_KID);
    const page = await (await admin.browser.get("/admin/keys")).text();
    expect(page).toContain(`<code id="signing-kid">${SECRET_KID}</code>`);
    expect(page).toContain("published; signs from");
  });

  it("once signs_from has passed, new ID and access tokens carry the new kid and verify against /jwks", async () => {
    await env.DB.prepare("UPDATE signing_keys SET signs_from = ? WHERE kid = ?")
      .bind(now() - 1, kid)
      .run();
    signedByIt = await tokens();
    expect(kidOf(signedByIt.idToken)).toBe(kid);
    expect(kidOf(signedByIt.accessToken)).toBe(kid);
    const { payload } = await jwtVerify(signedByIt.idToken, createLocalJWKSet(await jwks()), {
      issuer: ISSUER,
      audience: CLIENT,
    });
    expect(payload.sub).toBe(userSub);
    // An isolate whose key cache is still young signs with the key it knows, without a D1 read.
    expect(kidOf((await tokens({})).idToken)).toBe(SECRET_KID);
  });

  it("retire asks for the password again, and the confirm page says how long /jwks keeps the kid", async () => {
    const page = await (await admin.browser.get(`/admin/keys/${kid}`)).text();
    expect(page).toContain("The JWKS will keep listing");
    expect(page).toContain(`<code>${kid}</code> until`);
    expect(page).toContain(`signed by <code>${SECRET_KID}</code>`);
    const wrong = await admin.browser.post(`/admin/keys/${kid}/retire`, { csrf: admin.csrf, password: "not-it" });
    expect(wrong.status).toBe(401);
    expect((await row(kid))?.retired_at).toBeNull();
  });

  it("retire: the key no longer signs, stays in /jwks until remove_after, tokens it signed still verify; audited", async () => {
    const before = now();
    const response = await admin.browser.post(`/admin/keys/${kid}/retire`, {
      csrf: admin.csrf,
      password: admin.password,
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("Retired: it no longer signs");
    const stored = await row(kid);
    const retiredAt = Number(stored?.retired_at);
    expect(retiredAt).toBeGreaterThanOrEqual(before);
    expect(Number(stored?.remove_after) - retiredAt).toBe(removalDelay(loadSettings(env)));
    // Here at once, in this isolate's cache too (the retire dropped it).
    expect(kidOf((await tokens()).idToken)).toBe(SECRET_KID);
    expect(kidOf((await tokens({})).idToken)).toBe(SECRET_KID);
    expect(kidsOf(await jwks())).toContain(kid);
    expect(kidsOf(await jwks({}))).toContain(kid);
    // Tokens signed before the retire: the ID token verifies against /jwks, the access token at /userinfo.
    await jwtVerify(signedByIt.idToken, createLocalJWKSet(await jwks()), { issuer: ISSUER, audience: CLIENT });
    const userinfo = await call("/userinfo", { headers: { authorization: `Bearer ${signedByIt.accessToken}` } }, FRESH);
    expect(userinfo.status).toBe(200);
    expect(await auditActions(kid)).toEqual([
      { actor: admin.sub, action: "key.add" },
      { actor: admin.sub, action: "key.retire" },
    ]);
    const page = await (await admin.browser.get("/admin/keys")).text();
    expect(page).toContain("retired; in /jwks until");
  });

  it("a retired key cannot be retired again (409, no second audit row)", async () => {
    const again = await api(`/admin/api/keys/${kid}/retire`, { password: admin.password });
    expect(again.status).toBe(409);
    expect(await auditActions(kid)).toHaveLength(2);
  });

  it("past remove_after the key is gone from /jwks, and its tokens stop verifying; the console deletes the row", async () => {
    await env.DB.prepare("UPDATE signing_keys SET remove_after = ? WHERE kid = ?")
      .bind(now() - 1, kid)
      .run();
    const set = await jwks();
    expect(kidsOf(set)).not.toContain(kid);
    await expect(
      jwtVerify(signedByIt.idToken, createLocalJWKSet(set), { issuer: ISSUER, audience: CLIENT }),
    ).rejects.toThrow();
    await admin.browser.get("/admin/keys");
    expect(await row(kid)).toBeNull();
  });
});

describe("the JSON API", () => {
  it("adds a key from {alg}: EdDSA and PS256 too; an unknown alg is 400 naming the field", async () => {
    for (const alg of ["EdDSA", "PS256"]) {
      const response = await api("/admin/api/keys", { alg });
      expect(response.status).toBe(201);
      const key = (await response.json()) as { kid: string; alg: string; state: string; public_jwk: object };
      expect(key).toMatchObject({ alg, state: "pending" });
      expect(key.public_jwk).not.toHaveProperty("d");
      expect(kidsOf(await jwks())).toContain(key.kid);
      expect(await auditActions(key.kid)).toEqual([{ actor: admin.sub, action: "key.add" }]);
    }
    // Discovery's alg lists name the new keys' algs as soon as /jwks lists them (OpenID Connect
    // Discovery §3: id_token_signing_alg_values_supported), before any token is signed so.
    const metadata = (await (await call("/.well-known/openid-configuration", undefined, FRESH)).json()) as {
      id_token_signing_alg_values_supported: string[];
    };
    expect(metadata.id_token_signing_alg_values_supported).toEqual(expect.arrayContaining(["EdDSA", "PS256"]));
    const bad = await api("/admin/api/keys", { alg: "HS256" });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: "invalid_request", field: "alg" });
  });

  it("JARM §3: a key published but not yet signing never signs a response of its alg (unauthorized_client instead)", async () => {
    // The PS256 key above is pending: in /jwks, not signing. The test secret has no PS256 key.
    const store = new SigningKeyStore(env.DB, env.DATA_ENCRYPTION_KEY, 0, { until: 0 });
    const keys = await loadKeys({ env: { SIGNING_KEYS: env.SIGNING_KEYS }, stores: { signingKeys: store } });
    expect(keys.all.map((key) => key.alg)).toContain("PS256");
    expect(keys.signers.map((key) => key.alg)).not.toContain("PS256");
    expect(() => jarmSigningKey(keys, "PS256")).toThrow(/no PS256 key/);
    expect(jarmSigningKey(keys, "ES256").kid).toBe(SECRET_KID);
  });

  it("lists every key with its state, the kid that signs and the kids /jwks serves", async () => {
    const response = await api("/admin/api/keys");
    expect(response.status).toBe(200);
    const overview = (await response.json()) as {
      keys: { kid: string; source: string; state: string }[];
      signing_kid: string;
      jwks_kids: string[];
    };
    expect(overview.signing_kid).toBe(SECRET_KID);
    expect(overview.jwks_kids).toEqual(kidsOf(await jwks()));
    expect(overview.keys.find((key) => key.kid === SECRET_KID)).toMatchObject({
      source: "secret",
      state: "secret-signing",
    });
  });

  it("retire needs the admin's password (401 without), answers what /jwks does, and 404 for the secret's keys", async () => {
    const { kid } = (await (await api("/admin/api/keys", { alg: "ES256" })).json()) as { kid: string };
    expect((await api(`/admin/api/keys/${kid}/retire`, {})).status).toBe(401);
    expect((await api(`/admin/api/keys/${SECRET_KID}/retire`, { password: admin.password })).status).toBe(404);
    const response = await api(`/admin/api/keys/${kid}/retire`, { password: admin.password });
    expect(response.status).toBe(200);
    const effect = (await response.json()) as { remove_after: number; jwks_kids_after_removal: string[] };
    expect(effect.jwks_kids_after_removal).not.toContain(kid);
    expect(effect.remove_after).toBe(Number((await row(kid))?.remove_after));
    expect(await auditActions(kid)).toHaveLength(2);
  });
});

describe("a database without migration 0096", () => {
  it("signs and publishes with the secret's keys as before (no table, no console keys), instead of failing", async () => {
    // REALM_B_DB has no migrations in this file: no signing_keys table.
    const store = new SigningKeyStore(env.REALM_B_DB, env.DATA_ENCRYPTION_KEY, 0, { until: 0 });
    const keys = await loadKeys({ env: { SIGNING_KEYS: env.SIGNING_KEYS }, stores: { signingKeys: store } });
    expect(keys.active.kid).toBe(SECRET_KID);
    expect(keys.jwks.keys.map((key) => key.kid)).toEqual([SECRET_KID]);
  });
});

describe("without the SIGNING_KEYS secret", () => {
  const NO_SECRET: Vars = { ...FRESH, SIGNING_KEYS: "" };

  function keyAdmin(secret: string | undefined) {
    const ctx = testContext();
    const settings = { ...loadSettings(env), signingKeysCacheSeconds: 0 };
    return new SigningKeyAdmin(
      env.DB,
      new AdminStore(env.DB),
      ctx.stores.signingKeys,
      settings,
      secret,
      env.DATA_ENCRYPTION_KEY,
    );
  }

  it("a stored key signs and /jwks lists the stored keys only; the last key that can sign cannot be retired", async () => {
    const key = await keyAdmin(undefined).add("ES256", "test-operator");
    await env.DB.prepare("UPDATE signing_keys SET signs_from = ? WHERE kid = ?")
      .bind(now() - 1, key.kid)
      .run();
    const set = await jwks(NO_SECRET);
    expect(kidsOf(set)).toContain(key.kid);
    expect(kidsOf(set)).not.toContain(SECRET_KID);
    const { idToken } = await tokens(NO_SECRET);
    expect(kidOf(idToken)).toBe(key.kid);
    await jwtVerify(idToken, createLocalJWKSet(set), { issuer: ISSUER, audience: CLIENT });

    // Every other console key of this file is retired or still pending, so this one is the last signer.
    const refused = await keyAdmin(undefined).retire(key.kid, "test-operator");
    expect(refused?.refused).toMatch(/last key that can sign/);
    expect((await row(key.kid))?.retired_at).toBeNull();
    expect(await auditActions(key.kid)).toEqual([{ actor: "test-operator", action: "key.add" }]);
    // With the secret's key to fall back on, it can.
    expect((await keyAdmin(env.SIGNING_KEYS).retire(key.kid, "test-operator"))?.refused).toBeUndefined();
    expect((await row(key.kid))?.retired_at).not.toBeNull();
  });
  it("of two concurrent retires of the last two keys that can sign, exactly one succeeds (one audit row)", async () => {
    const first = await keyAdmin(undefined).add("ES256", "test-operator");
    const second = await keyAdmin(undefined).add("ES256", "test-operator");
    await env.DB.prepare("UPDATE signing_keys SET signs_from = ? WHERE kid IN (?, ?)")
      .bind(now() - 1, first.kid, second.kid)
      .run();
    const results = await Promise.all([
      keyAdmin(undefined).retire(first.kid, "test-operator"),
      keyAdmin(undefined).retire(second.kid, "test-operator"),
    ]);
    expect(results.filter((effect) => effect?.refused === undefined)).toHaveLength(1);
    const retired = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM signing_keys WHERE kid IN (?, ?) AND retired_at IS NOT NULL",
    )
      .bind(first.kid, second.kid)
      .first<{ n: number }>();
    expect(retired?.n).toBe(1);
    const audits = [...(await auditActions(first.kid)), ...(await auditActions(second.kid))];
    expect(audits.filter((row) => row.action === "key.retire")).toHaveLength(1);
    // Something still signs without the secret.
    expect(kidOf((await tokens(NO_SECRET)).idToken)).toMatch(/^console-/);
  });
});
