/**
 * Issue 12, in a real browser: `/signin?return_to=%2F%09%2Fevil.example` used to redirect to
 * `/<TAB>/evil.example`, which Chromium reads as `//evil.example` and followed. Signed out (the
 * form) and signed in (the redirect straight away), the browser must stay on the provider, and
 * no request may leave for another host. Also: signing in as someone else in the same browser
 * ends the first user's session.
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, inject, test } from "vitest";
import { DEV_USERS } from "../../scripts/lib/dev-seed.ts";
import { launchChromium, phoneContext } from "./helpers.ts";

const issuer = inject("e2eIssuer");
const bob = DEV_USERS.find((u) => u.username === "bob");
const alice = DEV_USERS.find((u) => u.username === "alice");

const HOSTILE = ["/\t/evil.example", "/\n/evil.example/x", "/.//evil.example", "/\u007f/evil.example"];

let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  browser = await launchChromium();
});

afterEach(async () => {
  await Promise.all(contexts.splice(0).map((context) => context.close()));
});

afterAll(async () => {
  await browser?.close();
});

/** A page, and every request its browser context makes to another origin (redirects included). */
async function guardedPage(): Promise<{ page: Page; elsewhere: string[] }> {
  const context = await phoneContext(browser);
  contexts.push(context);
  const elsewhere: string[] = [];
  context.on("request", (request) => {
    if (new URL(request.url()).origin !== issuer) elsewhere.push(request.url());
  });
  return { page: await context.newPage(), elsewhere };
}

/** Fills in and sends the sign-in form; resolves once the browser has gone wherever it was sent. */
async function signIn(page: Page, username: string, password: string): Promise<void> {
  const form = page.url();
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.waitForURL((url) => url.href !== form);
  await page.waitForLoadState("load");
}

describe("return_to with control characters, in Chromium", () => {
  test("signing in, and visiting /signin signed in, never leaves the provider", async () => {
    if (!bob) throw new Error("the dev seed has no bob");
    const { page, elsewhere } = await guardedPage();
    for (const [i, returnTo] of HOSTILE.entries()) {
      // A page of its own each time: an aborted navigation elsewhere would interrupt the next one.
      const tab = i === 0 ? page : await page.context().newPage();
      // A navigation to another host fails (the machine has no network), so goto may throw:
      // what counts is where the browser tried to go.
      await tab.goto(`${issuer}/signin?return_to=${encodeURIComponent(returnTo)}`).catch(() => undefined);
      // Signed out the first time: the form. Later visits are signed in and redirect at once.
      if (i === 0) await signIn(tab, bob.username, bob.password);
      await tab.waitForLoadState("load");
      expect(elsewhere, JSON.stringify(returnTo)).toEqual([]);
      expect(tab.url(), JSON.stringify(returnTo)).toMatch(new RegExp(`^${issuer}/`));
    }
  });
});

describe("signing in as someone else in the same browser", () => {
  test("ends the first user's session: its cookie, kept aside, signs nobody in", async () => {
    if (!bob || !alice) throw new Error("the dev seed has no alice or bob");
    const { page } = await guardedPage();
    await page.goto(`${issuer}/signin?return_to=%2Fciba`);
    await signIn(page, bob.username, bob.password);
    await page.waitForURL(`${issuer}/ciba`);
    const bobsCookies = await page.context().cookies(issuer);
    // Alice signs in on the same phone (prompt=login shows the form to a signed-in browser).
    await page.goto(`${issuer}/signin?return_to=%2Fciba&prompt=login`);
    await signIn(page, alice.username, alice.password);
    await page.waitForURL(`${issuer}/ciba`);
    expect(await page.content()).toContain("Alice Example");
    // Bob's session cookie in a fresh browser: sent to sign-in, not shown Bob's requests.
    const replay = await browser.newContext();
    contexts.push(replay);
    await replay.addCookies(bobsCookies);
    const other = await replay.newPage();
    await other.goto(`${issuer}/ciba`);
    expect(new URL(other.url()).pathname).toBe("/signin");
  });
});
