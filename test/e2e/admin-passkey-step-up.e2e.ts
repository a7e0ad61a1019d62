/**
 * Issue 17's passkey step-up for the console, in Chromium with a virtual authenticator (CDP
 * WebAuthn domain: ctap2, internal transport, resident keys, user verification): the dev seed's
 * admin adds a passkey on /passkeys; a password session is then sent from the console to
 * "Confirm with your passkey", the API answers 403 step_up_required, and after the button the
 * console and the API open, back on the page asked for.
 *
 * WebAuthn refuses an IP address as relying party id and the shared e2e provider's issuer is
 * http://127.0.0.1:N (its admin must also stay without a passkey for the other console tests),
 * so this file starts its own provider with the issuer http://localhost:M, as passkeys.e2e.ts does.
 */
import type { ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { DEV_ADMIN } from "../../scripts/lib/dev-seed.ts";
import { PROJECT_ROOT } from "../../scripts/lib/wrangler.ts";
import { freePort, spawnProvider, stopGroup, waitForDiscovery } from "./global-setup.ts";
import { launchChromium } from "./helpers.ts";

let issuer = "";
let server: ChildProcess | undefined;
let stateDir = "";
let browser: Browser;

beforeAll(async () => {
  stateDir = mkdtempSync(join(tmpdir(), "edge-op-e2e-admin-step-up-"));
  const port = await freePort();
  issuer = `http://localhost:${port}`;
  const started = await spawnProvider(stateDir, issuer, port);
  server = started.child;
  await waitForDiscovery(issuer, started.child);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  if (server) await stopGroup(server);
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
});

/** A laptop-sized page whose browser has a platform passkey authenticator that verifies the user. */
async function withVirtualAuthenticator(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 }, colorScheme: "light" });
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

async function signInWithPassword(page: Page, returnTo: string) {
  await page.goto(`${issuer}/signin?return_to=${encodeURIComponent(returnTo)}`);
  await page.getByLabel("Username").fill(DEV_ADMIN.username);
  await page.getByLabel("Password").fill(DEV_ADMIN.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
}

/** GET of a console API path with the browser's session cookie: status and error code. */
async function apiFrom(page: Page, path: string): Promise<{ status: number; error?: string }> {
  const response = await page.context().request.get(`${issuer}${path}`, { maxRedirects: 0 });
  const body = (await response.json().catch(() => ({}))) as { error?: string };
  return { status: response.status(), error: body.error };
}

describe("the console's passkey step-up in Chromium", () => {
  test("an admin with a passkey, signed in with the password, confirms with the passkey before the console opens", async () => {
    const { context, page } = await withVirtualAuthenticator();
    try {
      // Before any passkey: the console opens on the password, and the overview says how to turn the step-up on.
      await signInWithPassword(page, "/admin");
      await page.waitForURL(`${issuer}/admin`);
      await page.getByTestId("passkey-step-up-off").waitFor();
      await page.goto(`${issuer}/passkeys`);
      await page.getByRole("button", { name: "Add a passkey" }).click();
      await page.locator("form.card, #passkey-status:not(:empty)").first().waitFor();
      expect(await page.locator("#passkey-status").textContent()).toBe("");

      // A new password session: the console asks for the passkey first.
      await context.clearCookies();
      await signInWithPassword(page, "/admin/users");
      await page.waitForURL(/\/admin\/step-up\?return_to=/);
      await page.getByRole("heading", { name: "Confirm with your passkey" }).waitFor();
      expect(await apiFrom(page, "/admin/api/clients")).toEqual({ status: 403, error: "step_up_required" });
      const results = join(PROJECT_ROOT, "test-results", "e2e");
      mkdirSync(results, { recursive: true });
      writeFileSync(join(results, "admin-passkey-step-up-laptop.png"), await page.screenshot({ fullPage: true }));

      await page.getByRole("button", { name: "Confirm with your passkey" }).click();
      await page.waitForURL(`${issuer}/admin/users`);
      expect((await apiFrom(page, "/admin/api/clients")).status).toBe(200);
      await page.goto(`${issuer}/admin`);
      expect(await page.getByTestId("passkey-step-up-off").count()).toBe(0);
    } finally {
      await context.close();
    }
  });
});
