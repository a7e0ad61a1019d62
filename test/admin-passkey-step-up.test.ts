/**
 * Passkey step-up for the administration console (issue 17: "passkey step-up once passkeys
 * exist"; docs/admin-console.md, "Who may use it"). An admin who has a passkey and signed in
 * with a password gets no console page and no session-authenticated API answer until the
 * session confirmed with a passkey (W3C WebAuthn L3 §7.2, user verification) bound to the
 * console and that session; a passkey sign-in (RFC 8176 amr `pop`) counts; an admin without
 * passkeys is unchanged.
 */
import { env } from "cloudflare:workers";
import type { PublicKeyCredentialRequestOptionsJSON } from "@simplewebauthn/server";
import { describe, expect, it } from "vitest";
import { PATHS, type RouteName } from "../src/routes";
import { Browser } from "./helpers/browser";
import { ISSUER } from "./helpers/http";
import { operatorToken } from "./helpers/operator";
import { csrfOfConfig, newPasswordUser, pageJson, sessionWithPasskey } from "./helpers/passkey-session";
import { SoftAuthenticator } from "./helpers/soft-authenticator";

const STEP_UP_COOKIE = "edge-op-webauthn-step-up";

/** admin_session_activity rows of the sessions of one subject (bound as ?). */
const SESSIONS_OF = "sid IN (SELECT sid FROM sessions WHERE subject = ?)";

const isApi = (path: string) => path === "/admin/api" || path.startsWith("/admin/api/");
const isStepUp = (path: string) => path.startsWith("/admin/step-up");

/** Every console page path of the route table (not the API, not the step-up page), parameters filled in. */
const CONSOLE_PAGES = (Object.entries(PATHS) as [RouteName, string][])
  .map(([, path]) => path)
  .filter((path) => (path === "/admin" || path.startsWith("/admin/")) && !isApi(path) && !isStepUp(path))
  .map((path) => path.replace(/:[A-Za-z]+/g, "some-id"));

async function grantAdmin(sub: string) {
  await env.DB.prepare("INSERT INTO admin_roles (sub, granted_at) VALUES (?, ?)").bind(sub, 0).run();
}

/** An admin with a passkey on `authenticator`, signed in with the password in a new browser. */
async function passkeyAdmin(authenticator: SoftAuthenticator) {
  const user = await newPasswordUser("admin-pk");
  await grantAdmin(user.sub);
  const browser = await sessionWithPasskey(user.username, authenticator);
  return { ...user, browser };
}

async function passwordSession(username: string): Promise<Browser> {
  const browser = new Browser();
  expect((await browser.signIn(username, `${username}-password`, "/admin")).status).toBe(303);
  return browser;
}

/** The step-up page's options call, signed by the authenticator: the assertion and the challenge cookie it needs. */
async function stepUpAssertion(browser: Browser, authenticator: SoftAuthenticator, returnTo = "/admin") {
  const page = await browser.get(`/admin/step-up?return_to=${encodeURIComponent(returnTo)}`);
  expect(page.status).toBe(200);
  const html = await page.text();
  const csrf = csrfOfConfig(html);
  const answer = await pageJson(browser, "/admin/step-up/options", csrf);
  expect(answer.status).toBe(200);
  const options = (await answer.json()) as PublicKeyCredentialRequestOptionsJSON;
  const response = await authenticator.authenticate(options, ISSUER);
  return { csrf, assertion: JSON.stringify(response), cookie: browser.cookies.get(STEP_UP_COOKIE) ?? "" };
}

function confirm(browser: Browser, step: { csrf: string; assertion: string }, returnTo = "/admin") {
  return browser.post("/admin/step-up", { csrf: step.csrf, return_to: returnTo, passkey_assertion: step.assertion });
}

async function expectSentToStepUp(browser: Browser) {
  for (const path of CONSOLE_PAGES) {
    const response = await browser.get(path);
    expect([path, response.status]).toEqual([path, 303]);
    expect(response.headers.get("location")).toBe(`/admin/step-up?return_to=${encodeURIComponent(path)}`);
  }
  const api = await browser.get("/admin/api/clients");
  expect(api.status).toBe(403);
  expect(((await api.json()) as { error: string }).error).toBe("step_up_required");
}

describe("issue 17: an admin with a passkey confirms with it before the console opens", () => {
  it("a password session is sent to the step-up page from every console page and form, and the API answers 403 step_up_required", async () => {
    const { browser } = await passkeyAdmin(new SoftAuthenticator());
    await expectSentToStepUp(browser);
    // A form's POST is not carried out either: it goes to the step-up page, back to the overview after.
    const form = await browser.post("/admin/clients/some-id/disable", { csrf: "x" });
    expect(form.status).toBe(303);
    expect(form.headers.get("location")).toBe(`/admin/step-up?return_to=${encodeURIComponent("/admin")}`);
  });

  it("the step-up page looks like the console, says it needs JavaScript, and allows the passkey script", async () => {
    const { browser } = await passkeyAdmin(new SoftAuthenticator());
    const page = await browser.get("/admin/step-up?return_to=/admin/users");
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("Confirm with your passkey");
    expect(html).toContain("<noscript>");
    expect(html).toContain("/assets/admin.css");
    expect(html).toContain('data-step-up-options="/admin/step-up/options"');
    expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(page.headers.get("content-security-policy")).toContain("form-action 'self'");
  });

  it("WebAuthn §7.2: after a user-verified assertion bound to this session the console and API open, back on the page asked for", async () => {
    const authenticator = new SoftAuthenticator();
    const { browser, sub } = await passkeyAdmin(authenticator);
    const step = await stepUpAssertion(browser, authenticator, "/admin/users?q=a");
    const confirmed = await confirm(browser, step, "/admin/users?q=a");
    expect(confirmed.status).toBe(303);
    expect(confirmed.headers.get("location")).toBe("/admin/users?q=a");
    expect((await browser.get("/admin")).status).toBe(200);
    expect((await browser.get("/admin/users")).status).toBe(200);
    expect((await browser.get("/admin/api/clients")).status).toBe(200);
    const stored = await env.DB.prepare(`SELECT passkey_at FROM admin_session_activity WHERE ${SESSIONS_OF}`)
      .bind(sub)
      .all();
    expect(stored.results).toEqual([{ passkey_at: expect.any(Number) }]);
  });

  it("return_to goes only to a console page: another site or a user page ends on the overview", async () => {
    const authenticator = new SoftAuthenticator();
    const { browser } = await passkeyAdmin(authenticator);
    const step = await stepUpAssertion(browser, authenticator);
    const confirmed = await confirm(browser, step, "//evil.example/admin");
    expect(confirmed.headers.get("location")).toBe("/admin");
    const page = await browser.get("/admin/step-up?return_to=/ciba");
    expect(page.headers.get("location")).toBe("/admin");
  });

  it("W3C WebAuthn §13.4.3: an assertion made for another session of the same admin does not confirm this one", async () => {
    const authenticator = new SoftAuthenticator();
    const { username, browser } = await passkeyAdmin(authenticator);
    const other = await passwordSession(username);
    // The other session's challenge and assertion, cookie included, carried over to this browser.
    const foreign = await stepUpAssertion(other, authenticator);
    const mine = Browser.csrfOf(await (await browser.get("/admin/step-up")).text());
    browser.cookies.set(STEP_UP_COOKIE, foreign.cookie);
    const refused = await confirm(browser, { csrf: mine, assertion: foreign.assertion });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.status).toBeLessThan(500);
    await expectSentToStepUp(browser);
  });

  it("W3C WebAuthn §13.4.3: a replayed assertion (same challenge, cookie and signature) does not count again", async () => {
    const authenticator = new SoftAuthenticator();
    const { browser, sub } = await passkeyAdmin(authenticator);
    const step = await stepUpAssertion(browser, authenticator);
    expect((await confirm(browser, step)).status).toBe(303);
    // The session's confirmation is gone (as for a new session); the captured ceremony is sent again.
    await env.DB.prepare(`UPDATE admin_session_activity SET passkey_at = NULL WHERE ${SESSIONS_OF}`).bind(sub).run();
    browser.cookies.set(STEP_UP_COOKIE, step.cookie);
    const replay = await confirm(browser, step);
    expect(replay.status).toBe(401);
    await expectSentToStepUp(browser);
  });

  it("the options call needs the page's X-CSRF-Token, and another user's passkey does not confirm this admin", async () => {
    const authenticator = new SoftAuthenticator();
    const { browser } = await passkeyAdmin(authenticator);
    expect((await pageJson(browser, "/admin/step-up/options", "wrong-token")).status).toBe(403);
    // Another user's passkey (their own registration), answering this admin's challenge.
    const stranger = new SoftAuthenticator();
    await sessionWithPasskey((await newPasswordUser("stranger")).username, stranger);
    const csrf = csrfOfConfig(await (await browser.get("/admin/step-up")).text());
    const options = (await (
      await pageJson(browser, "/admin/step-up/options", csrf)
    ).json()) as PublicKeyCredentialRequestOptionsJSON;
    const response = await stranger.authenticate(options, ISSUER);
    const refused = await confirm(browser, { csrf, assertion: JSON.stringify(response) });
    expect(refused.status).toBe(401);
    await expectSentToStepUp(browser);
  });

  it("an assertion without user verification does not count", async () => {
    const authenticator = new SoftAuthenticator();
    const { browser } = await passkeyAdmin(authenticator);
    const csrf = csrfOfConfig(await (await browser.get("/admin/step-up")).text());
    const options = (await (
      await pageJson(browser, "/admin/step-up/options", csrf)
    ).json()) as PublicKeyCredentialRequestOptionsJSON;
    const response = await authenticator.authenticate(options, ISSUER, { userVerified: false });
    const refused = await confirm(browser, { csrf, assertion: JSON.stringify(response) });
    expect(refused.status).toBe(401);
    expect((await browser.get("/admin")).status).toBe(303);
  });

  it("an admin who signed in with a passkey (amr pop) goes straight in", async () => {
    const authenticator = new SoftAuthenticator();
    await passkeyAdmin(authenticator);
    const phone = new Browser();
    const csrf = csrfOfConfig(await (await phone.get("/signin?return_to=/admin")).text());
    const options = (await (
      await pageJson(phone, "/signin/passkey/options", csrf)
    ).json()) as PublicKeyCredentialRequestOptionsJSON;
    const response = await authenticator.authenticate(options, ISSUER);
    expect((await pageJson(phone, "/signin/passkey", csrf, { response, return_to: "/admin" })).status).toBe(200);
    const overview = await phone.get("/admin");
    expect(overview.status).toBe(200);
    expect(await overview.text()).not.toContain("passkey-step-up-off");
    expect((await phone.get("/admin/api/clients")).status).toBe(200);
    // Nothing to confirm: the step-up page sends it on.
    expect((await phone.get("/admin/step-up?return_to=/admin/keys")).headers.get("location")).toBe("/admin/keys");
  });

  it("an admin without passkeys is unchanged, and the overview says a passkey turns the step-up on", async () => {
    const user = await newPasswordUser("admin-nopk");
    await grantAdmin(user.sub);
    const browser = await passwordSession(user.username);
    for (const path of ["/admin", "/admin/users", "/admin/keys", "/admin/audit"]) {
      expect([path, (await browser.get(path)).status]).toEqual([path, 200]);
    }
    expect((await browser.get("/admin/api/clients")).status).toBe(200);
    const overview = await (await browser.get("/admin")).text();
    expect(overview).toContain("passkey-step-up-off");
    expect(overview).toContain('href="/passkeys"');
  });

  it("an operator client's token is unaffected, even sent from a browser whose session has not stepped up", async () => {
    const { browser } = await passkeyAdmin(new SoftAuthenticator());
    expect((await browser.get("/admin/api/clients")).status).toBe(403);
    const response = await browser.get("/admin/api/clients", {
      authorization: `Bearer ${await operatorToken("step-up-operator")}`,
    });
    expect(response.status).toBe(200);
  });
});
