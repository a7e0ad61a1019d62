/**
 * OpenID RP-Initiated Logout 1.0 and Back-Channel Logout 1.0, with openid-client as the relying
 * party and the loopback helper server as each client's backchannel_logout_uri. Sign-out (the
 * button or an RP's request) ends the session and revokes the session's grants without
 * offline_access. Refusals are named after their clause.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { decodeJwt, decodeProtectedHeader, generateKeyPair, jwtVerify, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { RegistrationError, validateClientRegistration } from "../src/clients/metadata";
import { loadSettings } from "../src/config";
import { signJwt } from "../src/tokens/jwt";
import { loadKeys } from "../src/tokens/keys";
import { local, pkce, walk } from "./helpers/authorize";
import { Browser } from "./helpers/browser";
import { backchannel, CIBA_GRANT, poll, requestFor } from "./helpers/ciba";
import { registerClient, registerUser } from "./helpers/fixtures";
import { basic, call, ISSUER, postForm, publishedKeys } from "./helpers/http";
import { type Answer, outsideUrl, program, type Received, received } from "./helpers/outside";
import { client, discoverAs } from "./helpers/rp";

const SECRET = "logout-app-secret-0123456789";
const CALLBACK = "https://rp.example/cb";
const AFTER_LOGOUT = "https://rp.example/signed-out";
const BCL_PATH = `/bcl/${crypto.randomUUID()}`;
const OTHER_BCL_PATH = `/bcl/${crypto.randomUUID()}`;

beforeAll(async () => {
  const web = {
    client_secret: SECRET,
    grant_types: ["authorization_code", "refresh_token"],
    redirect_uris: [CALLBACK],
    scope: "openid profile email offline_access",
    post_logout_redirect_uris: [AFTER_LOGOUT],
  };
  await registerClient({ client_id: "logout-app", ...web, backchannel_logout_uri: outsideUrl(BCL_PATH) });
  await registerClient({ client_id: "logout-other", ...web, backchannel_logout_uri: outsideUrl(OTHER_BCL_PATH) });
  await registerClient({ client_id: "logout-plain", ...web });
  await registerClient({
    client_id: "logout-kiosk",
    client_secret: SECRET,
    grant_types: [CIBA_GRANT, "refresh_token"],
    backchannel_token_delivery_mode: "poll",
    scope: "openid email offline_access",
  });
});

async function someone(): Promise<{ username: string; password: string; sub: string }> {
  const username = `logout-${crypto.randomUUID().slice(0, 8)}`;
  const sub = await registerUser({ username, password: `${username}-password` });
  return { username, password: `${username}-password`, sub };
}

const rp = (clientId = "logout-app") => discoverAs(clientId, SECRET, client.ClientSecretBasic(SECRET));

/** Signs `browser` in through the code flow for `clientId`; returns openid-client's tokens. */
async function signInTo(
  browser: Browser,
  user: { username: string; password: string },
  clientId = "logout-app",
  scope = "openid email",
) {
  const config = await rp(clientId);
  const { verifier, challenge } = await pkce();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope,
    code_challenge: challenge,
    code_challenge_method: "S256",
    state,
  });
  const response = await walk(browser, url, user);
  expect(response.status).toBe(303);
  const callback = new URL(response.headers.get("location") ?? "");
  return {
    config,
    tokens: await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state }),
  };
}

async function signedIn(browser: Browser): Promise<boolean> {
  const response = await browser.get("/ciba");
  return response.status === 200;
}

/** Runs the delivery object's alarm until the receiver at `path` has `count` requests. */
async function deliveries(path: string, sid: string, clientId: string, count = 1): Promise<Received[]> {
  const stub = env.LOGOUT_DELIVERIES.get(env.LOGOUT_DELIVERIES.idFromName(`bcl:${sid}:${clientId}`));
  for (let i = 0; i < 80; i++) {
    const got = await received(path);
    if (got.length >= count) return got;
    if (!(await runDurableObjectAlarm(stub))) await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no back-channel logout reached ${path}`);
}

async function userinfo(accessToken: string): Promise<number> {
  return (await call("/userinfo", { headers: { authorization: `Bearer ${accessToken}` } })).status;
}

describe("discovery", () => {
  it("lists end_session_endpoint and back-channel logout with sid (RP-Initiated §2.1, Back-Channel §2.1)", async () => {
    const metadata = (await (await call("/.well-known/openid-configuration")).json()) as Record<string, unknown>;
    expect(metadata.end_session_endpoint).toBe(`${ISSUER}/end-session`);
    expect(metadata.backchannel_logout_supported).toBe(true);
    expect(metadata.backchannel_logout_session_supported).toBe(true);
  });
});

describe("RP-Initiated Logout with openid-client's buildEndSessionUrl", () => {
  it("ends the session, returns to the registered URI with state, and sends a verified logout token", async () => {
    const user = await someone();
    const browser = new Browser();
    const { config, tokens } = await signInTo(browser, user);
    const idToken = tokens.id_token ?? "";
    const sid = decodeJwt(idToken).sid;
    expect(typeof sid).toBe("string");
    const state = client.randomState();
    const url = client.buildEndSessionUrl(config, {
      id_token_hint: idToken,
      post_logout_redirect_uri: AFTER_LOGOUT,
      state,
    });
    expect(`${url.origin}${url.pathname}`).toBe(`${ISSUER}/end-session`);
    await program(BCL_PATH, { status: 200 });
    const response = await browser.get(local(url));
    expect(response.status).toBe(303);
    const back = new URL(response.headers.get("location") ?? "");
    expect(`${back.origin}${back.pathname}`).toBe(AFTER_LOGOUT);
    expect(back.searchParams.get("state")).toBe(state);
    expect(await signedIn(browser)).toBe(false);

    // Back-Channel Logout §2.4–§2.5: a logout+jwt POSTed as the logout_token form parameter.
    const [delivery] = await deliveries(BCL_PATH, String(sid), "logout-app");
    expect(delivery?.headers["content-type"]).toContain("application/x-www-form-urlencoded");
    const logoutToken = new URLSearchParams(delivery?.body).get("logout_token") ?? "";
    expect(decodeProtectedHeader(logoutToken).typ).toBe("logout+jwt");
    const { payload } = await jwtVerify(logoutToken, await publishedKeys(), {
      issuer: ISSUER,
      audience: "logout-app",
      typ: "logout+jwt",
    });
    expect(payload).toMatchObject({
      sub: user.sub,
      sid,
      events: { "http://schemas.openid.net/event/backchannel-logout": {} },
    });
    expect(payload.jti).toEqual(expect.any(String));
    expect(payload.exp).toBeGreaterThan(payload.iat ?? 0);
    // §2.4: "A Logout Token MUST NOT contain a nonce Claim."
    expect(payload).not.toHaveProperty("nonce");
  });

  it("ID tokens carry the session's sid, the same for every client of the session (Back-Channel §2.1)", async () => {
    const user = await someone();
    const browser = new Browser();
    const first = await signInTo(browser, user, "logout-app");
    const second = await signInTo(browser, user, "logout-other");
    expect(decodeJwt(first.tokens.id_token ?? "").sid).toBe(decodeJwt(second.tokens.id_token ?? "").sid);
  });

  it("notifies every client that got tokens in the session, and only those (Back-Channel §2.6)", async () => {
    const user = await someone();
    const browser = new Browser();
    const path = `/bcl/${crypto.randomUUID()}`;
    await registerClient({
      client_id: `logout-${crypto.randomUUID().slice(0, 8)}`,
      client_secret: SECRET,
      grant_types: ["authorization_code"],
      redirect_uris: [CALLBACK],
      backchannel_logout_uri: outsideUrl(path),
    });
    await program(OTHER_BCL_PATH, { status: 204 });
    const { tokens } = await signInTo(browser, user, "logout-other");
    const sid = String(decodeJwt(tokens.id_token ?? "").sid);
    const before = (await received(OTHER_BCL_PATH)).length;
    const form = await browser.get("/ciba");
    const csrf = Browser.csrfOf(await form.text());
    expect((await browser.post("/signout", { csrf })).status).toBe(200);
    const got = await deliveries(OTHER_BCL_PATH, sid, "logout-other", before + 1);
    const token = new URLSearchParams(got.at(-1)?.body).get("logout_token") ?? "";
    expect(decodeJwt(token)).toMatchObject({ aud: "logout-other", sid });
    expect(await received(path)).toEqual([]);
  });

  it("an expired id_token_hint is still accepted (§2: the RP session may have expired)", async () => {
    const user = await someone();
    const browser = new Browser();
    const { tokens } = await signInTo(browser, user, "logout-plain");
    const claims = decodeJwt(tokens.id_token ?? "");
    const keys = await loadKeys(env.SIGNING_KEYS);
    const expired = await signJwt(
      keys,
      { ...claims, iat: (claims.iat ?? 0) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 },
      "JWT",
    );
    const response = await browser.get(
      `/end-session?id_token_hint=${expired}&post_logout_redirect_uri=${encodeURIComponent(AFTER_LOGOUT)}`,
    );
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe(AFTER_LOGOUT);
    expect(await signedIn(browser)).toBe(false);
  });

  it("§2: without id_token_hint the user is asked first; the confirmation (POST, CSRF) signs out", async () => {
    const user = await someone();
    const browser = new Browser();
    await signInTo(browser, user, "logout-plain");
    const ask = await browser.get(
      `/end-session?client_id=logout-plain&post_logout_redirect_uri=${encodeURIComponent(AFTER_LOGOUT)}&state=s1`,
    );
    expect(ask.status).toBe(200);
    const html = await ask.text();
    expect(html).toContain("Sign out?");
    expect(await signedIn(browser)).toBe(true);
    const response = await browser.post("/end-session", {
      csrf: Browser.csrfOf(html),
      confirm: "yes",
      client_id: "logout-plain",
      post_logout_redirect_uri: AFTER_LOGOUT,
      state: "s1",
    });
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe(`${AFTER_LOGOUT}?state=s1`);
    expect(await signedIn(browser)).toBe(false);
  });

  it("§2: an id_token_hint of another user's session is not enough: the user is asked", async () => {
    const browser = new Browser();
    await signInTo(browser, await someone(), "logout-plain");
    const { tokens } = await signInTo(new Browser(), await someone(), "logout-plain");
    const response = await browser.get(`/end-session?id_token_hint=${tokens.id_token}`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain("Sign out?");
    expect(await signedIn(browser)).toBe(true);
  });
});

describe("sign-out revokes the session's tokens unless offline_access", () => {
  it("a grant without offline_access loses its access tokens; one with offline_access keeps its refresh token", async () => {
    const user = await someone();
    const browser = new Browser();
    const online = await signInTo(browser, user, "logout-plain", "openid email");
    const offline = await signInTo(browser, user, "logout-plain", "openid email offline_access");
    expect(await userinfo(online.tokens.access_token)).toBe(200);
    const form = await browser.get("/ciba");
    await browser.post("/signout", { csrf: Browser.csrfOf(await form.text()) });
    expect(await userinfo(online.tokens.access_token)).toBe(401);
    expect(await userinfo(offline.tokens.access_token)).toBe(200);
    const refreshed = await client.refreshTokenGrant(offline.config, offline.tokens.refresh_token ?? "");
    expect(refreshed.access_token).toBeTruthy();
  });
});

describe("RP-Initiated Logout revokes the session's tokens too (signing out either way)", () => {
  async function introspect(token: string): Promise<unknown> {
    return (await postForm("/introspect", { token }, basic("logout-plain", SECRET))).json();
  }

  it("the grant without offline_access is refused at /userinfo and inactive at introspection; the offline one stays", async () => {
    const user = await someone();
    const browser = new Browser();
    const online = await signInTo(browser, user, "logout-plain", "openid email");
    const offline = await signInTo(browser, user, "logout-plain", "openid email offline_access");
    expect(await introspect(online.tokens.access_token)).toMatchObject({ active: true });
    const url = client.buildEndSessionUrl(online.config, { id_token_hint: online.tokens.id_token ?? "" });
    const response = await browser.get(local(url));
    expect(response.status).toBeLessThan(400);
    expect(await signedIn(browser)).toBe(false);
    expect(await userinfo(online.tokens.access_token)).toBe(401);
    expect(await introspect(online.tokens.access_token)).toEqual({ active: false });
    expect(await introspect(offline.tokens.refresh_token ?? "")).toMatchObject({ active: true });
    expect(await userinfo(offline.tokens.access_token)).toBe(200);
  });
});

describe("issue 18: CIBA grants, linked to the approving session in the user's object (not D1)", () => {
  /** A CIBA request for `user`, approved on `browser`'s /ciba page; the token response. */
  async function approvedOn(browser: Browser, user: { username: string }, scopes: string[]) {
    const started = await backchannel("logout-kiosk", SECRET, {
      scope: `openid ${scopes.join(" ")}`,
      login_hint: user.username,
    });
    const { internalId } = await requestFor(started.body.auth_req_id);
    const page = await (await browser.get(`/ciba/requests/${internalId}`)).text();
    const answer = await browser.post(`/ciba/requests/${internalId}`, {
      csrf: Browser.csrfOf(page),
      action: "approve",
      scope: scopes,
    });
    expect(answer.status).toBe(200);
    const tokens = await poll("logout-kiosk", SECRET, started.body.auth_req_id);
    expect(tokens.status).toBe(200);
    return tokens.body as unknown as { access_token: string; refresh_token?: string };
  }

  it("sign-out revokes a CIBA grant approved in the session (no offline_access); one with offline_access keeps its refresh token", async () => {
    const user = await someone();
    const browser = new Browser();
    await browser.signIn(user.username, user.password);
    const online = await approvedOn(browser, user, ["email"]);
    const offline = await approvedOn(browser, user, ["email", "offline_access"]);
    expect(await userinfo(online.access_token)).toBe(200);
    const form = await browser.get("/ciba");
    await browser.post("/signout", { csrf: Browser.csrfOf(await form.text()) });
    expect(await userinfo(online.access_token)).toBe(401);
    expect(await userinfo(offline.access_token)).toBe(200);
    const refreshed = await postForm(
      "/token",
      { grant_type: "refresh_token", refresh_token: offline.refresh_token ?? "" },
      basic("logout-kiosk", SECRET),
    );
    expect(refreshed.status).toBe(200);
  });
});

describe("refusals", () => {
  it("RP-Initiated Logout §2: an id_token_hint this OP did not sign is refused", async () => {
    const browser = new Browser();
    await signInTo(browser, await someone(), "logout-plain");
    const { privateKey } = await generateKeyPair("ES256");
    const forged = await new SignJWT({ iss: ISSUER, sub: "x", aud: "logout-plain" })
      .setProtectedHeader({ alg: "ES256", kid: "not-ours" })
      .sign(privateKey);
    const response = await browser.get(`/end-session?id_token_hint=${forged}`);
    expect(response.status).toBe(400);
    expect(await signedIn(browser)).toBe(true);
    expect((await browser.get("/end-session?id_token_hint=not.a.jwt")).status).toBe(400);
  });

  it("RP-Initiated Logout §2: client_id that does not match the id_token_hint's audience is refused", async () => {
    const browser = new Browser();
    const { tokens } = await signInTo(browser, await someone(), "logout-plain");
    const response = await browser.get(`/end-session?id_token_hint=${tokens.id_token}&client_id=logout-app`);
    expect(response.status).toBe(400);
    expect(await signedIn(browser)).toBe(true);
  });

  it("RP-Initiated Logout §3: a post_logout_redirect_uri not registered for the client is refused", async () => {
    const browser = new Browser();
    const { tokens } = await signInTo(browser, await someone(), "logout-plain");
    const evil = encodeURIComponent("https://evil.example/after");
    const response = await browser.get(
      `/end-session?id_token_hint=${tokens.id_token}&post_logout_redirect_uri=${evil}`,
    );
    expect(response.status).toBe(400);
    expect(response.headers.get("location")).toBeNull();
    expect(await signedIn(browser)).toBe(true);
  });

  it("RP-Initiated Logout §3: a post_logout_redirect_uri with neither client_id nor id_token_hint is refused", async () => {
    const response = await call(`/end-session?post_logout_redirect_uri=${encodeURIComponent(AFTER_LOGOUT)}`);
    expect(response.status).toBe(400);
    expect(response.headers.get("location")).toBeNull();
  });

  it("RP-Initiated Logout §2: the confirmation without a valid CSRF token does not sign out (403)", async () => {
    const browser = new Browser();
    await signInTo(browser, await someone(), "logout-plain");
    const response = await browser.post("/end-session", { csrf: "forged", confirm: "yes" });
    expect(response.status).toBe(403);
    expect(await signedIn(browser)).toBe(true);
  });

  it("Back-Channel Logout §2.2: a backchannel_logout_uri that is not https, or not public, is refused at registration", () => {
    const settings = loadSettings({ ...env, ALLOW_HTTP_NOTIFICATION_ENDPOINTS: "false" });
    const base = {
      client_id: "bcl-bad",
      client_name: "bad",
      token_endpoint_auth_method: "client_secret_basic" as const,
      client_secret: SECRET,
      grant_types: ["authorization_code"],
      redirect_uris: [CALLBACK],
      scope: "openid",
      backchannel_user_code_parameter: false,
      require_pushed_authorization_requests: false,
    };
    for (const uri of ["http://rp.example/bcl", "https://10.0.0.1/bcl", "https://rp.example/bcl#frag", "not a url"]) {
      expect(() =>
        validateClientRegistration({ ...base, backchannel_logout_uri: uri }, settings.scopesSupported, {
          allowHttpNotificationEndpoints: false,
        }),
      ).toThrow(RegistrationError);
    }
    expect(() =>
      validateClientRegistration(
        { ...base, backchannel_logout_uri: "https://rp.example/bcl" },
        settings.scopesSupported,
      ),
    ).not.toThrow();
  });

  it("RP-Initiated Logout §3.1: a post_logout_redirect_uri that is plain http to another host, or has a fragment, is refused at registration", () => {
    const base = {
      client_id: "plr-bad",
      client_name: "bad",
      token_endpoint_auth_method: "client_secret_basic" as const,
      client_secret: SECRET,
      grant_types: ["authorization_code"],
      redirect_uris: [CALLBACK],
      scope: "openid",
      backchannel_user_code_parameter: false,
      require_pushed_authorization_requests: false,
    };
    for (const uri of ["http://rp.example/out", "https://rp.example/out#x"]) {
      expect(() => validateClientRegistration({ ...base, post_logout_redirect_uris: [uri] }, ["openid"])).toThrow(
        RegistrationError,
      );
    }
  });
});

describe("back-channel delivery retries (like CIBA notifications)", () => {
  async function logOutWith(path: string, answers: Answer[]): Promise<{ sid: string; clientId: string }> {
    const clientId = `logout-${crypto.randomUUID().slice(0, 8)}`;
    await registerClient({
      client_id: clientId,
      client_secret: SECRET,
      grant_types: ["authorization_code"],
      redirect_uris: [CALLBACK],
      backchannel_logout_uri: outsideUrl(path),
    });
    await program(path, answers);
    const browser = new Browser();
    const { tokens } = await signInTo(browser, await someone(), clientId);
    const sid = String(decodeJwt(tokens.id_token ?? "").sid);
    const form = await browser.get("/ciba");
    await browser.post("/signout", { csrf: Browser.csrfOf(await form.text()) });
    return { sid, clientId };
  }

  it("a 503 is retried from the alarm and the next attempt delivers", async () => {
    const path = `/bcl/${crypto.randomUUID()}`;
    const { sid, clientId } = await logOutWith(path, [{ status: 503 }, { status: 200 }]);
    const got = await deliveries(path, sid, clientId, 2);
    expect(got).toHaveLength(2);
    expect(new URLSearchParams(got[1]?.body).get("logout_token")).toBe(
      new URLSearchParams(got[0]?.body).get("logout_token"),
    );
  });

  it("a 400 ends the delivery at once (not retried)", async () => {
    const path = `/bcl/${crypto.randomUUID()}`;
    const { sid, clientId } = await logOutWith(path, [{ status: 400 }, { status: 200 }]);
    await deliveries(path, sid, clientId, 1);
    const stub = env.LOGOUT_DELIVERIES.get(env.LOGOUT_DELIVERIES.idFromName(`bcl:${sid}:${clientId}`));
    expect(await runDurableObjectAlarm(stub)).toBe(false);
    expect(await received(path)).toHaveLength(1);
  });
});
