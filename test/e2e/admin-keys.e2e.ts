/**
 * Issue 17's "Signing keys: list, add, retire, with the JWKS effect shown", in Chromium against
 * `wrangler dev` (test/e2e/global-setup.ts), without JavaScript in the pages: the dev seed's admin
 * adds an ES256 key (in /jwks at once, signing later), opens its page, reads what retiring it
 * does to /jwks, and retires it with the password asked again. The keys page's screenshot goes to
 * docs/screenshots/ (see admin-console.e2e.ts).
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { DEV_ADMIN } from "../../scripts/lib/dev-seed.ts";
import { PROJECT_ROOT } from "../../scripts/lib/wrangler.ts";
import { launchChromium } from "./helpers.ts";

const issuer = inject("e2eIssuer");
const E2E_RESULTS_DIR = join(PROJECT_ROOT, "test-results", "e2e");
const DOCS_SCREENSHOTS_DIR = join(PROJECT_ROOT, "docs", "screenshots");

let browser: Browser;
let context: BrowserContext;

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
});

async function laptopPage(): Promise<Page> {
  context = await browser.newContext({
    viewport: { width: 1366, height: 768 },
    colorScheme: "light",
    locale: "en-US",
    javaScriptEnabled: false,
  });
  context.setDefaultTimeout(15_000);
  return context.newPage();
}

async function saveScreenshot(page: Page, name: string): Promise<void> {
  const png = await page.screenshot({ fullPage: true, animations: "disabled", caret: "hide" });
  mkdirSync(E2E_RESULTS_DIR, { recursive: true });
  writeFileSync(join(E2E_RESULTS_DIR, name), png);
  const docsPath = join(DOCS_SCREENSHOTS_DIR, name);
  if (process.env.UPDATE_SCREENSHOTS === "1" || !existsSync(docsPath)) writeFileSync(docsPath, png);
}

async function jwksKids(): Promise<string[]> {
  const set = (await (await fetch(`${issuer}/jwks`)).json()) as { keys: { kid: string }[] };
  return set.keys.map((key) => key.kid);
}

describe("signing keys in the console", () => {
  test("add an ES256 key (in /jwks at once, signing later), then retire it with the password; the pages say what /jwks does", async () => {
    const page = await laptopPage();
    await page.goto(`${issuer}/signin?return_to=/admin/keys`);
    await page.getByLabel("Username").fill(DEV_ADMIN.username);
    await page.getByLabel("Password").fill(DEV_ADMIN.password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL(`${issuer}/admin/keys`);
    const secretKid = ((await page.textContent("#signing-kid")) ?? "").trim();

    await page.selectOption("#key-alg", "ES256");
    await page.getByRole("button", { name: "Add key" }).click();
    const notice = (await page.getByRole("status").textContent()) ?? "";
    const kid = /Key (console-[\w-]+) added/.exec(notice)?.[1] ?? "";
    expect(kid).not.toBe("");
    expect(await jwksKids()).toContain(kid);
    // Published, not signing yet: the secret's key still signs.
    await expect(page.textContent("#signing-kid")).resolves.toBe(secretKid);
    await expect(page.textContent("#jwks-kids")).resolves.toContain(kid);
    await saveScreenshot(page, "admin-keys-laptop.png");

    await page.getByRole("link", { name: kid }).click();
    const effect = (await page.textContent("#retire-effect")) ?? "";
    expect(effect).toContain(`The JWKS will keep listing ${kid} until`);
    await page.fill("#reauth-password", DEV_ADMIN.password);
    await page.getByRole("button", { name: "Retire key" }).click();
    await expect(page.getByRole("status").textContent()).resolves.toContain("Retired: it no longer signs");
    // Still published until remove_after, so tokens it signed keep verifying.
    expect(await jwksKids()).toContain(kid);

    await page.goto(`${issuer}/admin/audit`);
    const audit = (await page.textContent("main")) ?? "";
    for (const action of ["key.add", "key.retire"]) expect(audit).toContain(action);
  });
});
