/**
 * Sign-out and the account page in Debian's Chromium against `wrangler dev` (issue 15): OpenID
 * RP-Initiated Logout with openid-client's buildEndSessionUrl (with an id_token_hint, and
 * without one, through the confirmation page), and /account, where withdrawing the demo web
 * app revokes its refresh token. The app's host does not exist; the browser's requests to it
 * are caught and answered here, so every navigation to the app ends on a page and none can
 * interrupt the test's next navigation.
 */
import * as client from "openid-client";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, inject, test } from "vitest";
import { DEMO_WEB_CLIENT, DEV_USERS } from "../../scripts/lib/dev-seed.ts";
import { launchChromium } from "./helpers.ts";

const issuer = inject("e2eIssuer");
const APP = "http://localhost:3000";
const CALLBACK = `${APP}/callback`;
const SIGNED_OUT = `${APP}/signed-out`;
const bob = DEV_USERS.find((u) => u.username === "bob");

let browser: Browser;
let config: client.Configuration;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  browser = await launchChromium();
  config = await client.discovery(new URL(issuer), "demo-web", undefined, client.ClientSecretBasic("demo-web-secret"), {
    execute: [client.allowInsecureRequests],
  });
});

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
});

afterAll(async () => {
  await browser?.close();
});

/**
 * A fresh browser context and page. The app's host does not exist: its URLs are read from the
 * requests the browser makes to it, and each is answered by a plain page here. (Left to fail,
 * the failed navigation lands on Chromium's error page a moment later and cancels whatever
 * `page.goto` the test has started meanwhile.)
 */
async function appPage({ javaScript = true } = {}): Promise<{ page: Page; visits: string[] }> {
  const context = await browser.newContext({
    javaScriptEnabled: javaScript,
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
    locale: "en-US",
  });
  context.setDefaultTimeout(15_000);
  contexts.push(context);
  await context.route(`${APP}/**`, (route) =>
    route.fulfill({ status: 200, contentType: "text/plain", body: "the demo app" }),
  );
  const visits: string[] = [];
  const page = await context.newPage();
  page.on("request", (request) => {
    if (request.url().startsWith(APP)) visits.push(request.url());
  });
  return { page, visits };
}

/** bob signs in to the demo web app through the real pages; the app exchanges the code. */
async function signInToApp(page: Page) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope: "openid email offline_access",
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state,
  });
  const callbackRequest = page.waitForRequest((request) => request.url().startsWith(CALLBACK));
  await page.goto(url.href);
  await page.waitForURL((u) => u.pathname === "/signin");
  await page.getByLabel("Username").fill(bob?.username ?? "");
  await page.getByLabel("Password").fill(bob?.password ?? "");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  // The consent page, unless bob's consent is remembered from an earlier test.
  const approve = page.getByRole("button", { name: "Approve" });
  const arrived = await Promise.race([approve.waitFor().then(() => false), callbackRequest.then(() => true)]);
  if (!arrived) await approve.click();
  const callback = new URL((await callbackRequest).url());
  await page.waitForURL((u) => u.href.startsWith(CALLBACK));
  return client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
}

describe("RP-Initiated Logout in a real browser", () => {
  test("buildEndSessionUrl with an id_token_hint signs bob out and returns to the app with state", async () => {
    const { page, visits } = await appPage();
    const tokens = await signInToApp(page);
    const state = client.randomState();
    const url = client.buildEndSessionUrl(config, {
      id_token_hint: tokens.id_token ?? "",
      post_logout_redirect_uri: SIGNED_OUT,
      state,
    });
    const back = page.waitForRequest((request) => request.url().startsWith(SIGNED_OUT));
    await page.goto(url.href).catch(() => undefined);
    expect(new URL((await back).url()).searchParams.get("state")).toBe(state);
    expect(visits.at(-1)).toBe((await back).url());
    // The session is gone: the account page (in another tab of the same browser) asks for a sign-in.
    const tab = await page.context().newPage();
    await tab.goto(`${issuer}/account`);
    await tab.waitForURL((u) => u.pathname === "/signin");
  });

  test("without an id_token_hint bob is asked first, and signing out on that page ends the session", async () => {
    const { page } = await appPage();
    await signInToApp(page);
    await page.goto(`${issuer}/end-session?client_id=demo-web`);
    await page.getByRole("heading", { name: "Sign out?" }).waitFor();
    expect(await page.getByText(`${DEMO_WEB_CLIENT.client_name} asks to sign you out`).isVisible()).toBe(true);
    await page.getByRole("button", { name: "Sign out" }).last().click();
    await page.getByRole("heading", { name: "Signed out" }).waitFor();
    await page.goto(`${issuer}/account`);
    await page.waitForURL((u) => u.pathname === "/signin");
  });
});

describe("the account page in a real browser", () => {
  test("lists the demo web app, and withdrawing it revokes the app's refresh token, with JavaScript off", async () => {
    // Issue 15: the account page works without JavaScript (plain forms, answered by redirects).
    const { page } = await appPage({ javaScript: false });
    const tokens = await signInToApp(page);
    await page.goto(`${issuer}/account`);
    await page.getByRole("heading", { name: "Your account" }).waitFor();
    const card = page.getByTestId("granted-client").filter({ hasText: DEMO_WEB_CLIENT.client_name });
    expect(await card.getByText("openid email offline_access").isVisible()).toBe(true);
    await card.getByRole("button", { name: `Withdraw access of ${DEMO_WEB_CLIENT.client_name}` }).click();
    await page.getByText("Access withdrawn").waitFor();
    expect(await page.getByTestId("granted-client").filter({ hasText: DEMO_WEB_CLIENT.client_name }).count()).toBe(0);
    await expect(client.refreshTokenGrant(config, tokens.refresh_token ?? "")).rejects.toThrow();
  });
});
