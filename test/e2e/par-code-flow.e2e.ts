/**
 * PAR and the authorization-code flow, end to end: a web app (openid-client in Node, the seeded
 * demo-web client) pushes its request, the user signs in and consents in Debian's Chromium
 * through the real pages, the browser lands on the app's redirect URI with a code, and the app
 * exchanges it. The app's callback host does not exist; the browser's request to it is caught
 * and answered here, which is all a real app would do with it.
 */
import * as client from "openid-client";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, inject, test } from "vitest";
import { DEMO_WEB_CLIENT, DEV_USERS } from "../../scripts/lib/dev-seed.ts";
import { launchChromium, phoneContext } from "./helpers.ts";

const issuer = inject("e2eIssuer");
const CALLBACK = "http://localhost:3000/callback";
const alice = DEV_USERS.find((u) => u.username === "alice");

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

/** A page whose requests to the app's callback are answered with a stub, their URLs recorded. */
async function pageWithCallback(): Promise<{ page: Page; callbacks: string[] }> {
  const context = await phoneContext(browser);
  contexts.push(context);
  const callbacks: string[] = [];
  await context.route(`${CALLBACK}**`, (route) => {
    callbacks.push(route.request().url());
    return route.fulfill({ status: 200, contentType: "text/plain", body: "back at the app" });
  });
  return { page: await context.newPage(), callbacks };
}

async function pushedRequest(scope = "openid profile email") {
  const verifier = client.randomPKCECodeVerifier();
  const params = {
    redirect_uri: CALLBACK,
    scope,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
    state: client.randomState(),
    nonce: client.randomNonce(),
  };
  const url = await client.buildAuthorizationUrlWithPAR(config, params);
  return { url, verifier, params };
}

async function signIn(page: Page) {
  await page.waitForURL((url) => url.pathname === "/signin");
  await page.getByLabel("Username").fill(alice?.username ?? "");
  await page.getByLabel("Password").fill(alice?.password ?? "");
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

describe("PAR → authorize → sign-in → consent → code → tokens, in a real browser", () => {
  test("approving gives the app a code it exchanges for alice's tokens", async () => {
    const { url, verifier, params } = await pushedRequest();
    expect([...url.searchParams.keys()].sort()).toEqual(["client_id", "request_uri"]);
    const { page, callbacks } = await pageWithCallback();

    await page.goto(url.href);
    await signIn(page);
    await page.getByRole("heading", { name: `${DEMO_WEB_CLIENT.client_name} asks for access` }).waitFor();
    await page.getByRole("button", { name: "Approve" }).click();
    await page.waitForURL((u) => u.href.startsWith(CALLBACK));

    const callback = new URL(callbacks.at(-1) ?? "");
    expect(callback.searchParams.get("iss")).toBe(issuer);
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: params.state,
      expectedNonce: params.nonce,
    });
    expect(tokens.scope).toBe("openid profile email");
    expect(tokens.claims()).toMatchObject({ sub: alice?.sub, aud: "demo-web", nonce: params.nonce });

    // The request_uri was spent by that response: opening it again shows an error page.
    const again = await page.goto(url.href);
    expect(again?.status()).toBe(400);
    expect(await page.getByText("invalid_request_uri").isVisible()).toBe(true);
  });

  test("denying sends the app access_denied with its state", async () => {
    const { url, params } = await pushedRequest("openid offline_access");
    const { page, callbacks } = await pageWithCallback();
    await page.goto(url.href);
    await signIn(page);
    await page.getByRole("button", { name: "Deny" }).click();
    await page.waitForURL((u) => u.href.startsWith(CALLBACK));
    const callback = new URL(callbacks.at(-1) ?? "");
    expect(callback.searchParams.get("error")).toBe("access_denied");
    expect(callback.searchParams.get("state")).toBe(params.state);
  });
});
