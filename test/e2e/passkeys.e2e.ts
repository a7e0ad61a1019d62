/**
 * Passkeys end to end in Chromium with a virtual authenticator (CDP WebAuthn domain: ctap2,
 * internal transport, resident keys, user verification): a user registers a passkey on
 * /passkeys, signs in with it without a username, and approves a CIBA request that asks for
 * phr with it; the kiosk's ID token says acr "phr". A password-only session cannot approve such
 * a request. In the authorization-code flow, a request asking for phr shows a user without a
 * passkey why it cannot be approved, and once they added one, the consent page's "Approve with
 * passkey" gives the web app an ID token with acr "phr".
 *
 * WebAuthn refuses an IP address as relying party id, and the shared e2e provider's issuer is
 * http://127.0.0.1:N, so this file starts its own provider (as test/e2e/global-setup.ts does)
 * with the issuer http://localhost:M.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt } from "jose";
import * as client from "openid-client";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { freePort, spawnProvider, stopGroup, waitForDiscovery } from "./global-setup.ts";
import { launchChromium, randomBindingMessage } from "./helpers.ts";

let issuer = "";
let server: ChildProcess | undefined;
let stateDir = "";
let browser: Browser;
let config: client.Configuration;
let webConfig: client.Configuration;
const CALLBACK = "http://localhost:3000/callback";

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "edge-op-e2e-passkeys-"));
  const port = await freePort();
  issuer = `http://localhost:${port}`;
  const started = await spawnProvider(stateDir, issuer, port, { TRUST_CF_TLS_CLIENT_AUTH: "false" });
  server = started.child;
  await waitForDiscovery(issuer, started.child);
  browser = await launchChromium();
  config = await client.discovery(
    new URL(issuer),
    "demo-ciba",
    undefined,
    client.ClientSecretBasic("demo-ciba-secret"),
    { execute: [client.allowInsecureRequests] },
  );
  webConfig = await client.discovery(
    new URL(issuer),
    "demo-web",
    undefined,
    client.ClientSecretBasic("demo-web-secret"),
    { execute: [client.allowInsecureRequests] },
  );
});

afterAll(async () => {
  await browser?.close();
  if (server) await stopGroup(server);
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

/** A page whose browser has a platform passkey authenticator that verifies the user. */
async function withVirtualAuthenticator(
  options: { serviceWorkers?: "allow" | "block" } = {},
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext(options);
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: {
      protocol: "ctap2",
      transport: "internal",
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { context, page };
}

async function signInWithPassword(page: Page, username: string, password: string) {
  await page.goto(`${issuer}/signin?return_to=/ciba`);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForURL(`${issuer}/ciba`);
}

/** A kiosk's request for `user` asking for phr, polling at once. */
async function phrLogin(user: string, bindingMessage: string) {
  const started = await client.initiateBackchannelAuthentication(config, {
    scope: "openid profile",
    login_hint: user,
    binding_message: bindingMessage,
    acr_values: "phr",
  });
  const abort = new AbortController();
  const tokens = client.pollBackchannelAuthenticationGrant(config, started, undefined, { signal: abort.signal });
  tokens.catch(() => {});
  return { tokens, stop: () => abort.abort() };
}

async function openRequest(page: Page, bindingMessage: string) {
  await page.goto(`${issuer}/ciba`);
  await page.locator("a.card", { hasText: bindingMessage }).click();
  await page.waitForURL(/\/ciba\/requests\//);
}

describe("passkeys in Chromium with a virtual authenticator", () => {
  test("register a passkey, sign in with it (no username), approve a phr request with it: acr phr", async () => {
    const { context, page } = await withVirtualAuthenticator();
    try {
      await signInWithPassword(page, "alice", "alice-password");
      await page.goto(`${issuer}/passkeys`);
      await page.getByRole("button", { name: "Add a passkey" }).click();
      // Stored: the page reloads with the passkey listed; refused: the status line says why.
      await page.locator("form.card, #passkey-status:not(:empty)").first().waitFor();
      expect(await page.locator("#passkey-status").textContent()).toBe("");
      expect(await page.locator("form.card").count()).toBe(1);

      // A fresh sign-in: sign out, then the passkey alone.
      await page.context().clearCookies();
      await page.goto(`${issuer}/signin?return_to=/ciba`);
      await page.getByRole("button", { name: "Sign in with a passkey" }).click();
      await page.waitForURL(`${issuer}/ciba`);

      const bindingMessage = randomBindingMessage("Passkey kiosk");
      const login = await phrLogin("alice", bindingMessage);
      try {
        await openRequest(page, bindingMessage);
        await page.getByRole("button", { name: "Approve with passkey" }).click();
        await page.getByRole("heading", { name: "Approved" }).waitFor();
        const tokens = await login.tokens;
        const claims = decodeJwt(String(tokens.id_token));
        expect(claims.acr).toBe("phr");
        expect(claims.amr).toEqual(["pop", "user", "mfa"]);
      } finally {
        login.stop();
      }
    } finally {
      await context.close();
    }
  });

  test("a password-only session cannot approve a phr request", async () => {
    const { context, page } = await withVirtualAuthenticator();
    const bindingMessage = randomBindingMessage("Password kiosk");
    const login = await phrLogin("bob", bindingMessage);
    try {
      await signInWithPassword(page, "bob", "bob-password");
      await openRequest(page, bindingMessage);
      // bob has no passkey: the page offers only the passkey approval, and it fails.
      await expect(page.getByRole("button", { name: "Approve", exact: true }).count()).resolves.toBe(0);
      await page.getByRole("button", { name: "Approve with passkey" }).click();
      await page.locator("#passkey-status:not(:empty)").waitFor();
      expect(await page.locator("#passkey-status").textContent()).toMatch(/passkey/i);
      // And a forged plain approve POST from the same session is refused.
      const csrf = await page.locator("input[name=csrf]").first().inputValue();
      const status = await page.evaluate(
        async ({ url, csrf }) => {
          const body = new URLSearchParams({ csrf, action: "approve" });
          return (await fetch(url, { method: "POST", body, credentials: "same-origin" })).status;
        },
        { url: page.url(), csrf },
      );
      expect(status).toBe(403);
    } finally {
      login.stop();
      await context.close();
    }
  });

  test("code flow: acr_values phr needs a passkey on the consent page; with one, the ID token says acr phr", async () => {
    // /ciba registers the PWA's service worker, which Playwright's routes do not see past.
    const { context, page } = await withVirtualAuthenticator({ serviceWorkers: "block" });
    await context.route(`${CALLBACK}**`, (route) =>
      route.fulfill({ status: 200, contentType: "text/plain", body: "back at the app" }),
    );
    const authorizationUrl = async () => {
      const verifier = client.randomPKCECodeVerifier();
      const params = {
        redirect_uri: CALLBACK,
        scope: "openid profile",
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: "S256",
        state: client.randomState(),
        acr_values: "phr",
      };
      return { url: client.buildAuthorizationUrl(webConfig, params), verifier, state: params.state };
    };
    try {
      await signInWithPassword(page, "bob", "bob-password");
      // No passkey yet: the page says so and offers no approval.
      const first = await authorizationUrl();
      await page.goto(first.url.href);
      await page.getByTestId("passkey-missing").waitFor();
      await expect(page.getByRole("button", { name: /^Approve/ }).count()).resolves.toBe(0);

      await page.goto(`${issuer}/passkeys`);
      await page.getByRole("button", { name: "Add a passkey" }).click();
      await page.locator("form.card, #passkey-status:not(:empty)").first().waitFor();
      expect(await page.locator("#passkey-status").textContent()).toBe("");

      const second = await authorizationUrl();
      await page.goto(second.url.href);
      // The browser's request to the app's callback (the redirect after approval) carries the code.
      const callback = page.waitForRequest((r) => r.url().startsWith(CALLBACK));
      await page.getByRole("button", { name: "Approve with passkey" }).click();
      const callbackUrl = new URL((await callback).url());
      const tokens = await client.authorizationCodeGrant(webConfig, callbackUrl, {
        pkceCodeVerifier: second.verifier,
        expectedState: second.state,
      });
      const claims = decodeJwt(String(tokens.id_token));
      expect(claims.acr).toBe("phr");
      expect(claims.amr).toEqual(["pop", "user", "mfa"]);
    } finally {
      await context.close();
    }
  });
});
