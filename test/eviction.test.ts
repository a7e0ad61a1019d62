/**
 * Issue 19, "Durable Object eviction / reset": the platform drops an object's in-memory state
 * whenever it likes (an idle object leaves memory; an exception or a deploy resets it). Every
 * object edge-op keeps one-time state in answers the next call from storage: the backchannel
 * request (poll after approve, a ping retry), the authorization code, the refresh-token family,
 * ReplayGuard (client JWT ids and the PAR fence) and the user_code attempt counter. Between
 * every two steps below, every object of the namespace loses its instance (test/helpers/eviction.ts),
 * once gracefully ("evicted") and once with ctx.abort() ("reset"). The per-user object (USERS)
 * and the logout delivery object are dropped the same way in test/eviction-users.test.ts.
 *
 * The one thing an object keeps only in memory is the backchannel request's last poll time
 * (slow_down); the test "what a drop forgets" pins down exactly what is lost with it.
 * docs/reliability.md lists every in-memory cache and why losing it is safe.
 */
import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../src/crypto/hash";
import { local, pkce, walk } from "./helpers/authorize";
import { Browser } from "./helpers/browser";
import { backchannel, CIBA_GRANT, poll, requestFor, settleClientDelivery } from "./helpers/ciba";
import { DROP_MODES, type DropMode, dropMemory } from "./helpers/eviction";
import { clientKeyPair, registerClient, registerUser } from "./helpers/fixtures";
import { basic, ISSUER, jsonOf, type OAuthErrorBody, postForm } from "./helpers/http";
import { outsideUrl, program, received } from "./helpers/outside";

const SECRET = "evict-secret-0123456789";
const CALLBACK = "https://evict.example/cb";
const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const USER_CODE = "731946";
const assertionKeys = await clientKeyPair("ES256");

beforeAll(async () => {
  await registerClient({
    client_id: "evict-kiosk",
    client_secret: SECRET,
    grant_types: [CIBA_GRANT, "refresh_token"],
    backchannel_token_delivery_mode: "poll",
    scope: "openid profile offline_access",
    ciba_polling_interval: 1,
  });
  await registerClient({
    client_id: "evict-web",
    client_secret: SECRET,
    grant_types: ["authorization_code", "refresh_token"],
    redirect_uris: [CALLBACK],
    scope: "openid profile offline_access",
  });
  await registerClient({
    client_id: "evict-keys",
    client_secret: undefined,
    token_endpoint_auth_method: "private_key_jwt",
    jwks: { keys: [assertionKeys.publicJwk as { kty: string }] },
  });
  await registerClient({
    client_id: "evict-till",
    client_secret: SECRET,
    grant_types: [CIBA_GRANT],
    backchannel_token_delivery_mode: "poll",
    backchannel_user_code_parameter: true,
  });
});

/** A new user (sign-ins and user_code failures are counted per user), signed in on a new browser. */
async function signedInUser(userCode?: string) {
  const username = `evict-${crypto.randomUUID().slice(0, 8)}`;
  const password = `${username}-password`;
  const sub = await registerUser({ username, password, ...(userCode ? { user_code: userCode } : {}) });
  const browser = new Browser();
  expect((await browser.signIn(username, password)).status).toBe(303);
  return { username, password, sub, browser };
}

/** Approves (or denies) a backchannel request on its page, as the user does. */
async function answerOnPage(browser: Browser, internalId: string, action: "approve" | "deny", scopes: string[] = []) {
  const page = await browser.get(`/ciba/requests/${internalId}`);
  if (page.status !== 200) return page.status;
  const csrf = Browser.csrfOf(await page.text());
  const answered = await browser.post(`/ciba/requests/${internalId}`, { csrf, action, scope: scopes });
  await answered.body?.cancel();
  return answered.status;
}

function refresh(clientId: string, refreshToken: string) {
  return postForm("/token", { grant_type: "refresh_token", refresh_token: refreshToken }, basic(clientId, SECRET)).then(
    (r) => jsonOf<Record<string, string> & OAuthErrorBody>(r),
  );
}

describe.each(DROP_MODES)("objects %s between calls answer from storage", (mode: DropMode) => {
  const drop = {
    requests: () => dropMemory(env.BACKCHANNEL_REQUESTS, mode),
    codes: () => dropMemory(env.AUTHORIZATION_CODES, mode),
    families: () => dropMemory(env.REFRESH_TOKENS, mode),
    guards: () => dropMemory(env.REPLAY_GUARD, mode),
    attempts: () => dropMemory(env.USER_CODE_ATTEMPTS, mode),
  };

  it("backchannel request and refresh family: pending → approved → tokens once → refresh once", async () => {
    const user = await signedInUser();
    const { body } = await backchannel("evict-kiosk", SECRET, {
      scope: "openid profile offline_access",
      login_hint: user.username,
    });
    const authReqId = body.auth_req_id;
    const { internalId } = await requestFor(authReqId);
    expect(await drop.requests()).toBeGreaterThan(0);

    expect((await poll("evict-kiosk", SECRET, authReqId)).body.error).toBe("authorization_pending");
    await drop.requests();
    expect(await answerOnPage(user.browser, internalId, "approve", ["profile", "offline_access"])).toBe(200);
    await drop.requests();

    const tokens = await poll("evict-kiosk", SECRET, authReqId);
    expect(tokens.status).toBe(200);
    const refreshToken = tokens.body.refresh_token as string;
    expect(refreshToken).toBeTruthy();
    await drop.requests();
    expect((await poll("evict-kiosk", SECRET, authReqId)).body.error).toBe("invalid_grant");
    // The token response deleted the used request (issue 18): a second answer finds none (404).
    expect(await answerOnPage(user.browser, internalId, "approve", ["profile"])).toBe(404);

    expect(await drop.families()).toBeGreaterThan(0);
    const rotated = await refresh("evict-kiosk", refreshToken);
    expect(rotated.status).toBe(200);
    await drop.families();
    expect((await refresh("evict-kiosk", refreshToken)).body.error).toBe("invalid_grant");
    await drop.families();
    // The reuse revoked the family; the revocation is in storage too.
    expect((await refresh("evict-kiosk", rotated.body.refresh_token ?? "")).body.error).toBe("invalid_grant");
  });

  it("authorization code: exchanged once; its reuse, after a drop, still revokes the refresh family", async () => {
    const user = await signedInUser();
    const { verifier, challenge } = await pkce();
    const url = `${ISSUER}/authorize?${new URLSearchParams({
      client_id: "evict-web",
      response_type: "code",
      redirect_uri: CALLBACK,
      scope: "openid profile offline_access",
      code_challenge: challenge,
      code_challenge_method: "S256",
    })}`;
    const redirect = await walk(user.browser, url, user);
    expect(redirect.status).toBe(303);
    const code = new URL(redirect.headers.get("location") ?? "").searchParams.get("code") ?? "";
    const exchange = () =>
      postForm(
        "/token",
        { grant_type: "authorization_code", code, redirect_uri: CALLBACK, code_verifier: verifier },
        basic("evict-web", SECRET),
      ).then((r) => jsonOf<Record<string, string> & OAuthErrorBody>(r));
    expect(await drop.codes()).toBeGreaterThan(0);

    const tokens = await exchange();
    expect(tokens.status).toBe(200);
    await drop.codes();
    expect((await exchange()).body.error).toBe("invalid_grant");
    await drop.families();
    expect((await refresh("evict-web", tokens.body.refresh_token ?? "")).body.error).toBe("invalid_grant");
  });

  it("ReplayGuard: a client assertion's jti is refused the second time", async () => {
    const now = Math.floor(Date.now() / 1000);
    const jwt = await new SignJWT({ jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: "ES256" })
      .setIssuer("evict-keys")
      .setSubject("evict-keys")
      .setAudience(`${ISSUER}/token`)
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(assertionKeys.privateKey);
    const send = () =>
      postForm("/token", {
        grant_type: "client_credentials",
        client_assertion_type: JWT_BEARER,
        client_assertion: jwt,
      });
    expect((await send()).status).toBe(200);
    expect(await drop.guards()).toBeGreaterThan(0);
    const replay = await jsonOf<OAuthErrorBody>(await send());
    expect(replay).toMatchObject({ status: 401, body: { error: "invalid_client" } });
  });

  it("ReplayGuard: a pushed request opened before the drop stays open; spent, the fence alone refuses it", async () => {
    const user = await signedInUser();
    const { challenge } = await pkce();
    const pushed = await jsonOf<{ request_uri: string }>(
      await postForm(
        "/par",
        {
          response_type: "code",
          client_id: "evict-web",
          redirect_uri: CALLBACK,
          scope: "openid",
          code_challenge: challenge,
          code_challenge_method: "S256",
        },
        basic("evict-web", SECRET),
      ),
    );
    const authorize = `/authorize?client_id=evict-web&request_uri=${encodeURIComponent(pushed.body.request_uri)}`;
    const kvKey = `par:${await sha256Hex(pushed.body.request_uri.split(":").pop() ?? "")}`;
    const stored = await env.PAR_REQUESTS.get(kvKey);
    expect(stored).not.toBeNull();

    // First read: the request is opened for the user's interaction (in ReplayGuard).
    const consent = await user.browser.get(authorize);
    expect(consent.status).toBe(200);
    // Its lifetime passes: from now on only the open mark in storage keeps it usable.
    const value = JSON.parse(stored ?? "{}");
    await env.PAR_REQUESTS.put(kvKey, JSON.stringify({ ...value, expiresAtUtc: Math.floor(Date.now() / 1000) - 1 }));
    expect(await drop.guards()).toBeGreaterThan(0);
    const approved = await user.browser.post(authorize, {
      csrf: Browser.csrfOf(await consent.text()),
      decision: "approve",
    });
    expect(approved.status).toBe(303);
    expect(new URL(approved.headers.get("location") ?? "").searchParams.get("code")).toBeTruthy();

    // As a KV replica that has not yet seen the delete would: the entry is back, the fence is not.
    await env.PAR_REQUESTS.put(kvKey, stored ?? "");
    await drop.guards();
    const again = await user.browser.get(local(`${ISSUER}${authorize}`));
    expect(again.status).toBe(400);
    expect(await again.text()).toContain("invalid_request_uri");
  });

  it("user_code attempts: wrong codes counted before a drop still count after it", async () => {
    const { username } = await signedInUser(USER_CODE);
    const attempt = async (userCode: string) =>
      jsonOf<OAuthErrorBody>(
        await postForm(
          "/bc-authorize",
          { scope: "openid", login_hint: username, user_code: userCode },
          basic("evict-till", SECRET),
        ),
      );
    for (let i = 0; i < 3; i++) expect((await attempt("000000")).body.error).toBe("invalid_user_code");
    expect(await drop.attempts()).toBeGreaterThan(0);
    for (let i = 0; i < 2; i++) expect((await attempt("000000")).body.error).toBe("invalid_user_code");
    await drop.attempts();
    // USER_CODE_MAX_FAILURES (5) are used up: even the right code is refused now.
    expect(await attempt(USER_CODE)).toMatchObject({ status: 429, body: { error: "invalid_user_code" } });
  });
});

/**
 * Only a reset can drop an object's memory between two delivery attempts: a graceful eviction
 * (evictDurableObject) waits until the object is idle, and an object whose retry alarm is due in
 * two seconds is not idle until that retry has run.
 */
describe("backchannel request reset between two ping attempts", () => {
  it("a ping whose first attempt failed (503) is retried by the new instance, from storage", async () => {
    const mode = "reset";
    const path = `/evict-ping-${mode}`;
    await registerClient({
      client_id: `evict-ping-${mode}`,
      client_secret: SECRET,
      grant_types: [CIBA_GRANT],
      backchannel_token_delivery_mode: "ping",
      backchannel_client_notification_endpoint: outsideUrl(path),
      ciba_polling_interval: 1,
    });
    await program(path, [{ status: 503 }, { status: 204 }]);
    const user = await signedInUser();
    const { body } = await backchannel(`evict-ping-${mode}`, SECRET, {
      scope: "openid",
      login_hint: user.username,
      client_notification_token: "evict-ping-token",
    });
    const { internalId } = await requestFor(body.auth_req_id);
    expect(await answerOnPage(user.browser, internalId, "approve")).toBe(200);
    // The first attempt runs from the alarm the approval set; wait for it (the 503).
    for (let i = 0; i < 100 && (await received(path)).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect((await received(path)).length).toBeGreaterThan(0);
    await dropMemory(env.BACKCHANNEL_REQUESTS, mode);
    // Dropped before the retry: the retry's time and attempt count are only in storage now.
    expect(await received(path)).toHaveLength(1);

    const settled = await settleClientDelivery(internalId);
    expect(settled.clientDeliveryStatus).toBe("sent");
    const deliveries = await received(path);
    expect(deliveries.map((d) => JSON.parse(d.body).auth_req_id)).toEqual(deliveries.map(() => body.auth_req_id));
    expect((await poll(`evict-ping-${mode}`, SECRET, body.auth_req_id)).status).toBe(200);
  });
});

describe("what a drop forgets: the backchannel request's last poll time (slow_down), and only that", () => {
  it("a fast poll right after a drop is answered authorization_pending; the interval slow_down raised is kept", async () => {
    const { username } = await signedInUser();
    const { body } = await backchannel("evict-kiosk", SECRET, { scope: "openid", login_hint: username });
    const authReqId = body.auth_req_id;
    expect((await poll("evict-kiosk", SECRET, authReqId)).body.error).toBe("authorization_pending");
    // CIBA §11 / RFC 8628 §3.5: too fast → slow_down, and the interval grows by 5 s (stored).
    const slowed = await poll("evict-kiosk", SECRET, authReqId);
    expect(slowed.body).toMatchObject({ error: "slow_down", error_description: expect.stringContaining(" 6 seconds") });
    await dropMemory(env.BACKCHANNEL_REQUESTS, "reset");
    // The last poll time was in memory only: one fast poll is forgiven…
    expect((await poll("evict-kiosk", SECRET, authReqId)).body.error).toBe("authorization_pending");
    // …and the next is measured against the interval kept in storage, which grows again (6 + 5 s).
    const again = await poll("evict-kiosk", SECRET, authReqId);
    expect(again.body).toMatchObject({ error: "slow_down", error_description: expect.stringContaining(" 11 seconds") });
  });
});
