/**
 * Issue 16, "done when": a request created while /ciba is open appears without a reload. Bob
 * opens his list in Chromium (a phone viewport) and keeps it open; a kiosk (openid-client, the
 * seeded demo-ciba client) starts a CIBA login for him; the card appears on the open page within
 * seconds through the page's WebSocket to his Durable Object (src/ui/live.ts), with no
 * navigation. Answered elsewhere (here: by the API a second device would use), it goes away.
 */
import type * as client from "openid-client";
import type { Browser, BrowserContext } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, inject, test } from "vitest";
import { DEV_USERS } from "../../scripts/lib/dev-seed.ts";
import { demoCibaClient, launchChromium, phoneContext, randomBindingMessage, startCibaLogin } from "./helpers.ts";

const issuer = inject("e2eIssuer");
const bob = DEV_USERS.find((u) => u.username === "bob");

let browser: Browser;
let config: client.Configuration;
const contexts: BrowserContext[] = [];
const stopPollers: (() => void)[] = [];

beforeAll(async () => {
  [browser, config] = await Promise.all([launchChromium(), demoCibaClient(issuer)]);
});

afterEach(async () => {
  for (const stop of stopPollers.splice(0)) stop();
  await Promise.all(contexts.splice(0).map((context) => context.close()));
});

afterAll(async () => {
  await browser?.close();
});

describe("live /ciba page", () => {
  test("a request created while /ciba is open appears without a reload, and leaves when denied elsewhere", async () => {
    if (!bob) throw new Error("the dev seed (scripts/lib/dev-seed.ts) has no user bob");
    const context = await phoneContext(browser);
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${issuer}/ciba`);
    await page.waitForURL((url) => url.pathname === "/signin");
    await page.getByLabel("Username").fill(bob.username);
    await page.getByLabel("Password").fill(bob.password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL(`${issuer}/ciba`);
    let navigations = 0;
    page.on("framenavigated", (frame) => {
      if (frame === page.mainFrame()) navigations += 1;
    });
    // Time for the page's script to open its socket.
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    const bindingMessage = randomBindingMessage("E2E live");
    const login = await startCibaLogin(config, { scope: "openid", loginHint: "bob", bindingMessage });
    stopPollers.push(login.stopPolling);
    const card = page.getByRole("link").filter({ hasText: bindingMessage });
    const started = Date.now();
    await card.waitFor({ state: "visible", timeout: 5_000 });
    const appearedAfter = Date.now() - started;
    expect(navigations).toBe(0);
    // Issue 16 asks for "within a second"; the bound here leaves room for a busy test machine.
    expect(appearedAfter).toBeLessThan(5_000);

    // Bob denies it from this page's own request view in a second tab (another device would do the same).
    const second = await context.newPage();
    const href = await card.getAttribute("href");
    await second.goto(new URL(href ?? "/", issuer).href);
    await second.getByRole("button", { name: "Deny" }).click();
    await card.waitFor({ state: "detached", timeout: 5_000 });
    expect(navigations).toBe(0);
    await expect(login.tokens).rejects.toMatchObject({ error: "access_denied" });
  });
});
