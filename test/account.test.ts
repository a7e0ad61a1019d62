/**
 * The user's account page (/account, issue 15): the clients the user granted (remembered
 * consent, grants with live tokens, scopes and dates), each withdrawable, which revokes its
 * tokens; the user's recent answers to backchannel requests. Works without JavaScript: plain
 * forms, CSRF-protected.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { pkce, walk } from "./helpers/authorize";
import { Browser } from "./helpers/browser";
import { backchannel, CIBA_GRANT, poll } from "./helpers/ciba";
import { registerClient, registerUser } from "./helpers/fixtures";
import { call } from "./helpers/http";
import { client, discoverAs } from "./helpers/rp";

const SECRET = "account-app-secret-0123456789";
const CALLBACK = "https://rp.example/cb";

beforeAll(async () => {
  await registerClient({
    client_id: "account-app",
    client_name: "Photo album",
    client_secret: SECRET,
    grant_types: ["authorization_code", "refresh_token"],
    redirect_uris: [CALLBACK],
    scope: "openid email offline_access",
  });
  await registerClient({
    client_id: "account-kiosk",
    client_name: "Branch kiosk",
    client_secret: SECRET,
    grant_types: [CIBA_GRANT],
    backchannel_token_delivery_mode: "poll",
    scope: "openid email",
  });
});

async function someone() {
  const username = `acct-${crypto.randomUUID().slice(0, 8)}`;
  const sub = await registerUser({ username, password: `${username}-password`, name: `Name ${username}` });
  return { username, password: `${username}-password`, sub };
}

async function grant(browser: Browser, user: { username: string; password: string }) {
  const config = await discoverAs("account-app", SECRET, client.ClientSecretBasic(SECRET));
  const { verifier, challenge } = await pkce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope: "openid email offline_access",
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  const response = await walk(browser, url, user);
  return client.authorizationCodeGrant(config, new URL(response.headers.get("location") ?? ""), {
    pkceCodeVerifier: verifier,
  });
}

const userinfo = async (token: string) =>
  (await call("/userinfo", { headers: { authorization: `Bearer ${token}` } })).status;

async function refreshStatus(refreshToken: string): Promise<number> {
  const response = await call("/token", {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${btoa(`account-app:${SECRET}`)}`,
    },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: refreshToken }).toString(),
  });
  return response.status;
}

describe("/account", () => {
  it("sends a visitor without a session to sign in, and back", async () => {
    const response = await call("/account", { redirect: "manual" });
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("/signin?return_to=%2Faccount");
  });

  it("lists a granted client with its scopes and dates, and withdrawing it revokes its tokens", async () => {
    const user = await someone();
    const browser = new Browser();
    const tokens = await grant(browser, user);
    const page = await browser.get("/account");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    const html = await page.text();
    expect(html).toContain("Photo album");
    expect(html).toContain("openid email offline_access");
    expect(html).toContain(`Consent remembered since ${new Date().toISOString().slice(0, 10)}`);
    expect(html).toContain("1 active grant (1 with refresh tokens)");
    // Works without JavaScript (withdrawing is a plain form); the only script is the passkey
    // list's "Add a passkey" (issue 16), a file of edge-op's own, never inline.
    expect([...html.matchAll(/<script[^>]*>/g)].map((m) => m[0])).toEqual([
      '<script src="/assets/passkeys.js" defer="">',
    ]);

    const withdrawn = await browser.post("/account/clients/account-app/withdraw", { csrf: Browser.csrfOf(html) });
    expect(withdrawn.status).toBe(303);
    expect(withdrawn.headers.get("location")).toBe("/account?withdrawn=1");
    expect(await userinfo(tokens.access_token)).toBe(401);
    expect(await refreshStatus(tokens.refresh_token ?? "")).toBe(400);
    const consent = await env.DB.prepare("SELECT 1 FROM consents WHERE subject = ? AND client_id = ?")
      .bind(user.sub, "account-app")
      .first();
    expect(consent).toBeNull();
    const after = await (await browser.get("/account?withdrawn=1")).text();
    expect(after).toContain("Access withdrawn");
    expect(after).not.toContain("Photo album");
  });

  it("refuses a withdrawal without a valid CSRF token (403) and revokes nothing", async () => {
    const user = await someone();
    const browser = new Browser();
    const tokens = await grant(browser, user);
    const response = await browser.post("/account/clients/account-app/withdraw", { csrf: "forged" });
    expect(response.status).toBe(403);
    expect(await userinfo(tokens.access_token)).toBe(200);
  });

  it("answers 404 for a client the user never granted, and touches no one else's grants", async () => {
    const owner = await someone();
    const ownerTokens = await grant(new Browser(), owner);
    const other = await someone();
    const browser = new Browser();
    await grant(browser, other);
    const html = await (await browser.get("/account")).text();
    await browser.post("/account/clients/account-app/withdraw", { csrf: Browser.csrfOf(html) });
    expect(await userinfo(ownerTokens.access_token)).toBe(200);
    const again = await browser.post("/account/clients/account-app/withdraw", { csrf: Browser.csrfOf(html) });
    expect(again.status).toBe(404);
    const never = await browser.post("/account/clients/nobody/withdraw", { csrf: Browser.csrfOf(html) });
    expect(never.status).toBe(404);
  });

  it("issue 18: lists a CIBA client the user approved (from the user's object, no D1 row), and withdrawing it revokes its tokens", async () => {
    const user = await someone();
    const browser = new Browser();
    await browser.signIn(user.username, user.password);
    const started = await backchannel("account-kiosk", SECRET, { scope: "openid email", login_hint: user.username });
    const request = await (await import("./helpers/ciba")).requestFor(started.body.auth_req_id);
    const page = await (await browser.get(`/ciba/requests/${request.internalId}`)).text();
    await browser.post(`/ciba/requests/${request.internalId}`, {
      csrf: Browser.csrfOf(page),
      action: "approve",
      scope: ["email"],
    });
    const tokens = await poll("account-kiosk", SECRET, started.body.auth_req_id);
    expect(tokens.status).toBe(200);
    const rows = await env.DB.prepare("SELECT COUNT(*) AS n FROM session_grants WHERE subject = ?")
      .bind(user.sub)
      .first();
    expect(Number(rows?.n)).toBe(0);
    const html = await (await browser.get("/account")).text();
    expect(html).toContain("Branch kiosk");
    expect(html).toContain("1 active grant");
    const withdrawn = await browser.post("/account/clients/account-kiosk/withdraw", { csrf: Browser.csrfOf(html) });
    expect(withdrawn.status).toBe(303);
    expect(await userinfo(tokens.body.access_token as string)).toBe(401);
    const after = await (await browser.get("/account?withdrawn=1")).text();
    // Still among the recent answers, no longer a granted client.
    expect(after).toMatch(/Branch kiosk · approved/);
    expect(after).not.toContain("1 active grant");
  });

  it("shows the user's recent answers to backchannel requests", async () => {
    const user = await someone();
    const browser = new Browser();
    await grant(browser, user);
    const started = await backchannel("account-kiosk", SECRET, {
      scope: "openid email",
      login_hint: user.username,
      binding_message: "W4T3",
    });
    expect(started.status).toBe(200);
    const request = await (await import("./helpers/ciba")).requestFor(started.body.auth_req_id);
    const page = await (await browser.get(`/ciba/requests/${request.internalId}`)).text();
    const answer = await browser.post(`/ciba/requests/${request.internalId}`, {
      csrf: Browser.csrfOf(page),
      action: "approve",
      scope: ["email"],
    });
    expect(answer.status).toBe(200);
    expect((await poll("account-kiosk", SECRET, started.body.auth_req_id)).status).toBe(200);
    const html = await (await browser.get("/account")).text();
    expect(html).toMatch(/Branch kiosk · approved \(openid email\) · “W4T3”/);
  });
});
