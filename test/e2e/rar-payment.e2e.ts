/**
 * Issue 14, "done when": a CIBA request carrying a payment_initiation authorization_details
 * (RFC 9396) is approved in Chromium. The kiosk (openid-client, the seeded demo-ciba client)
 * asks Bob to approve paying €42.00 to ACME Ltd; his approval page shows the amount and the
 * payee as a sentence; he approves; the access token the kiosk then receives carries exactly
 * the approved details (§9.1), and so does the token response (§7).
 */

import { decodeJwt } from "jose";
import * as client from "openid-client";
import type { Browser, BrowserContext } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { DEV_USERS } from "../../scripts/lib/dev-seed.ts";
import { demoCibaClient, launchChromium, phoneContext, randomBindingMessage } from "./helpers.ts";

const issuer = inject("e2eIssuer");
const bob = DEV_USERS.find((u) => u.username === "bob");

const payment = {
  type: "payment_initiation",
  actions: ["initiate"],
  instructedAmount: { currency: "EUR", amount: "42.00" },
  creditorName: "ACME Ltd",
  creditorAccount: { iban: "DE02100100109307118603" },
};

let browser: Browser;
let config: client.Configuration;
let context: BrowserContext | undefined;

beforeAll(async () => {
  [browser, config] = await Promise.all([launchChromium(), demoCibaClient(issuer)]);
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
});

describe("RFC 9396 payment approved on the CIBA approval page", () => {
  test("Bob sees amount and payee, approves, and the access token carries the payment", async () => {
    if (!bob) throw new Error("the dev seed (scripts/lib/dev-seed.ts) has no user bob");
    const bindingMessage = randomBindingMessage("E2E pay");
    const started = await client.initiateBackchannelAuthentication(config, {
      scope: "openid",
      login_hint: bob.username,
      binding_message: bindingMessage,
      authorization_details: JSON.stringify([payment]),
    });
    const tokens = client.pollBackchannelAuthenticationGrant(config, started);
    tokens.catch(() => {});

    context = await phoneContext(browser);
    const page = await context.newPage();
    await page.goto(`${issuer}/ciba`);
    await page.waitForURL((url) => url.pathname === "/signin");
    await page.getByLabel("Username").fill(bob.username);
    await page.getByLabel("Password").fill(bob.password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL(`${issuer}/ciba`);
    await page.getByRole("link").filter({ hasText: bindingMessage }).click();
    const sentence = page.getByText("Pay €42.00 to ACME Ltd, IBAN …8603");
    await sentence.waitFor({ state: "visible" });
    expect(await sentence.isVisible()).toBe(true);
    await page.getByRole("button", { name: "Approve" }).click();

    const result = await tokens;
    expect(result.authorization_details).toEqual([payment]);
    expect(decodeJwt(result.access_token).authorization_details).toEqual([payment]);
  });
});
