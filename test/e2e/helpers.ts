/**
 * For the end-to-end tests: Debian's Chromium driven by playwright-core (never a downloaded
 * browser), a phone-sized context for the user's device, and an openid-client consumption
 * device (the demo-ciba client of the dev seed).
 */
import { randomInt } from "node:crypto";
import * as client from "openid-client";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";

/** Debian's chromium package; override with CHROMIUM_PATH. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/**
 * playwright-core gives every launch a new, empty profile directory of its own. The flags keep
 * Chromium from reaching out to the network (this machine's network is closed) and from
 * needing a GPU or a sandbox (CI runs as root).
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** A fresh context (no cookies) that looks like a phone: 390×844, touch, light scheme. */
export async function phoneContext(browser: Browser): Promise<BrowserContext> {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    colorScheme: "light",
    locale: "en-US",
  });
  // Every page here answers in milliseconds; fail well before the test's own timeout.
  context.setDefaultTimeout(15_000);
  return context;
}

/** Opens /ciba on the user's device, is sent to sign-in, and signs in there. */
export async function signInThroughCibaList(page: Page, issuer: string, username: string, password: string) {
  await page.goto(`${issuer}/ciba`);
  await page.waitForURL((url) => url.pathname === "/signin");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  try {
    await page.waitForURL(`${issuer}/ciba`);
  } catch (error) {
    // Say why: the sign-in page shows its error in an alert.
    const alert = await page
      .getByRole("alert")
      .textContent({ timeout: 1_000 })
      .catch(() => null);
    throw new Error(`signing in did not lead to /ciba: still on ${page.url()}${alert ? `, saying "${alert}"` : ""}`, {
      cause: error,
    });
  }
}

/** The seeded CIBA client (poll mode, client_secret_basic) discovered from the running provider. */
export function demoCibaClient(issuer: string): Promise<client.Configuration> {
  return client.discovery(new URL(issuer), "demo-ciba", undefined, client.ClientSecretBasic("demo-ciba-secret"), {
    execute: [client.allowInsecureRequests],
  });
}

/** A binding message no other test (or earlier run) shows. */
export function randomBindingMessage(prefix = "E2E kiosk"): string {
  return `${prefix} · code ${randomInt(100_000, 1_000_000)}`;
}

/**
 * Starts a backchannel request the way a kiosk does and begins polling at once, as a kiosk
 * would while the user answers on the phone. The returned promise settles with the grant's
 * outcome; it is marked handled so a test that fails early does not also report it unhandled.
 */
export async function startCibaLogin(
  config: client.Configuration,
  params: { scope: string; loginHint: string; bindingMessage: string },
) {
  const started = await client.initiateBackchannelAuthentication(config, {
    scope: params.scope,
    login_hint: params.loginHint,
    binding_message: params.bindingMessage,
  });
  const abort = new AbortController();
  const tokens = client.pollBackchannelAuthenticationGrant(config, started, undefined, { signal: abort.signal });
  tokens.catch(() => {});
  return { started, tokens, stopPolling: () => abort.abort() };
}
