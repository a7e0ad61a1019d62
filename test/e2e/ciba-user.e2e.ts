/**
 * The user's side, end to end: a kiosk (openid-client in Node, the seeded demo-ciba client)
 * starts a CIBA login for alice; alice answers on her phone (Debian's Chromium at a phone
 * viewport) through the real pages of the real provider (test/e2e/global-setup.ts); the kiosk's
 * polling gets exactly what she answered.
 *
 * Screenshots of the phone pages go to test-results/e2e/; with UPDATE_SCREENSHOTS=1 (or when a
 * docs screenshot does not exist yet) also to docs/screenshots/, which the docs show.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as client from "openid-client";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, inject, test } from "vitest";
import { DEMO_CIBA_CLIENT, DEV_USERS, type DevUser } from "../../scripts/lib/dev-seed.ts";
import { PROJECT_ROOT } from "../../scripts/lib/wrangler.ts";
import {
  demoCibaClient,
  launchChromium,
  phoneContext,
  randomBindingMessage,
  signInThroughCibaList,
  startCibaLogin,
} from "./helpers.ts";

const issuer = inject("e2eIssuer");
const alice = seedUser("alice");
const clientName = DEMO_CIBA_CLIENT.client_name;
/** What the request page calls the profile scope. */
const PROFILE_LABEL = "Your name and username";
const E2E_RESULTS_DIR = join(PROJECT_ROOT, "test-results", "e2e");
const DOCS_SCREENSHOTS_DIR = join(PROJECT_ROOT, "docs", "screenshots");

/** The one DOM function the tests run inside the page (tsconfig.node.json has no DOM lib). */
declare const getComputedStyle: (element: unknown) => { borderTopWidth: string };

let browser: Browser;
let config: client.Configuration;
const contexts: BrowserContext[] = [];
const stopPollers: (() => void)[] = [];

beforeAll(async () => {
  [browser, config] = await Promise.all([launchChromium(), demoCibaClient(issuer)]);
});

afterEach(async ({ task }) => {
  for (const stop of stopPollers.splice(0)) stop();
  if (task.result?.state === "fail") await captureFailure(task.name);
  await Promise.all(contexts.splice(0).map((context) => context.close()));
});

afterAll(async () => {
  await browser?.close();
});

async function phonePage(): Promise<Page> {
  const context = await phoneContext(browser);
  contexts.push(context);
  return context.newPage();
}

async function start(bindingMessage: string, scope = "openid profile email") {
  const login = await startCibaLogin(config, { scope, loginHint: "alice", bindingMessage });
  stopPollers.push(login.stopPolling);
  return login;
}

/** Signs alice in from /ciba, checks the request is listed with its binding message, opens it. */
async function openRequest(page: Page, bindingMessage: string): Promise<void> {
  await signInThroughCibaList(page, issuer, alice.username, alice.password);
  const card = page.getByRole("link").filter({ hasText: bindingMessage });
  await expect(card.getByTestId("binding-message").textContent()).resolves.toBe(bindingMessage);
  await expect(card.textContent()).resolves.toContain(clientName);
  await card.click();
  await page.waitForURL((url) => url.pathname.startsWith("/ciba/requests/"));
  await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe(
    `${clientName} asks you to sign in`,
  );
  await expect(page.getByTestId("binding-message").textContent()).resolves.toBe(bindingMessage);
}

function seedUser(username: string): DevUser {
  const user = DEV_USERS.find((u) => u.username === username);
  if (!user) throw new Error(`the dev seed (scripts/lib/dev-seed.ts) has no user ${username}`);
  return user;
}

function scopeSet(scope: string | undefined): string[] {
  return (scope ?? "").split(" ").filter(Boolean).sort();
}

describe("a CIBA login answered on the user's phone", () => {
  test("approving a subset of the scopes: the client gets exactly the consented scopes", async () => {
    const bindingMessage = randomBindingMessage();
    const login = await start(bindingMessage);
    const page = await phonePage();
    await openRequest(page, bindingMessage);

    // Every requested scope is ticked; openid cannot be unticked.
    const openidBox = page.getByLabel("Confirm that it is you (your account id)");
    await expect(openidBox.isChecked()).resolves.toBe(true);
    await expect(openidBox.isDisabled()).resolves.toBe(true);
    const profileBox = page.getByLabel(PROFILE_LABEL);
    const emailBox = page.getByLabel("Your e-mail address");
    await expect(profileBox.isChecked()).resolves.toBe(true);
    await expect(emailBox.isChecked()).resolves.toBe(true);

    await profileBox.uncheck();
    await page.getByRole("button", { name: "Approve" }).click();
    // The answer is posted to the request's own URL: wait for the result page's heading.
    await page.getByRole("heading", { level: 1, name: "Approved", exact: true }).waitFor();
    await expect(page.getByRole("status").textContent()).resolves.toContain(
      `You approved the request from ${clientName}`,
    );

    const tokens = await login.tokens;
    expect(scopeSet(tokens.scope)).toEqual(["email", "openid"]);
    expect(tokens.refresh_token).toBeUndefined();
    const claims = tokens.claims();
    expect(claims?.sub).toBe(alice.sub);
    expect(claims?.iss).toBe(issuer);
    expect(claims?.aud).toBe("demo-ciba");

    // What the token releases follows the consent: the e-mail address, not the name.
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, alice.sub);
    expect(userinfo.email).toBe(alice.email);
    expect(userinfo.name).toBeUndefined();
    expect(userinfo.preferred_username).toBeUndefined();
  });

  test("denying: the client's polling ends with access_denied", async () => {
    const bindingMessage = randomBindingMessage();
    const login = await start(bindingMessage);
    const page = await phonePage();
    await openRequest(page, bindingMessage);

    await page.getByRole("button", { name: "Deny" }).click();
    await page.getByRole("heading", { level: 1, name: "Denied", exact: true }).waitFor();
    await expect(page.getByRole("status").textContent()).resolves.toContain(
      `You denied the request from ${clientName}`,
    );

    const error = await login.tokens.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(client.ResponseBodyError);
    expect((error as client.ResponseBodyError).error).toBe("access_denied");
  });

  test("the phone pages render styled (screenshots of the list and of a request)", async () => {
    const bindingMessage = "Kiosk 7 · code 482913";
    await start(bindingMessage, "openid profile email offline_access");
    const page = await phonePage();
    await signInThroughCibaList(page, issuer, alice.username, alice.password);

    // The stylesheet is applied (the page's CSP allows only 'self' styles): the binding message box.
    const binding = page.getByRole("link").filter({ hasText: bindingMessage }).getByTestId("binding-message");
    await expect(binding.textContent()).resolves.toBe(bindingMessage);
    // Polled: the live list swaps its cards for the server's rendering when its socket opens, and a
    // card caught mid-swap has no computed style yet.
    await expect.poll(() => binding.evaluate((el) => getComputedStyle(el).borderTopWidth)).toBe("2px");
    await expect(binding.isVisible()).resolves.toBe(true);
    await saveScreenshot(page, "ciba-pending-phone.png");

    await page.getByRole("link").filter({ hasText: bindingMessage }).click();
    await page.waitForURL((url) => url.pathname.startsWith("/ciba/requests/"));
    await expect(page.getByRole("button", { name: "Approve" }).isVisible()).resolves.toBe(true);
    await saveScreenshot(page, "ciba-request-phone.png");
  });
});

/** What the phone showed when a test failed: a screenshot and the HTML, in test-results/e2e/. */
async function captureFailure(testName: string): Promise<void> {
  mkdirSync(E2E_RESULTS_DIR, { recursive: true });
  const slug = testName.replace(/[^a-z0-9]+/gi, "-").slice(0, 60);
  const pages = contexts.flatMap((context) => context.pages());
  for (const [i, page] of pages.entries()) {
    const base = join(E2E_RESULTS_DIR, `failed-${slug}-${i + 1}`);
    await page.screenshot({ path: `${base}.png`, fullPage: true }).catch(() => {});
    writeFileSync(`${base}.html`, await page.content().catch(() => ""));
    console.log(`[e2e] the phone was on ${page.url()}: ${base}.png, .html`);
  }
}

/** To test-results/e2e/ always; to docs/screenshots/ with UPDATE_SCREENSHOTS=1 or when missing there. */
async function saveScreenshot(page: Page, name: string): Promise<void> {
  const png = await page.screenshot({ fullPage: true, animations: "disabled", caret: "hide" });
  expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
  mkdirSync(E2E_RESULTS_DIR, { recursive: true });
  writeFileSync(join(E2E_RESULTS_DIR, name), png);
  const docsPath = join(DOCS_SCREENSHOTS_DIR, name);
  if (process.env.UPDATE_SCREENSHOTS === "1" || !existsSync(docsPath)) {
    mkdirSync(DOCS_SCREENSHOTS_DIR, { recursive: true });
    writeFileSync(docsPath, png);
  }
}
