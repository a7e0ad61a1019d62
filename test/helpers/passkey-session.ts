/**
 * A signed-in browser with a passkey, for tests of the passkey ceremonies through the Worker:
 * a password session that registered a passkey on a software authenticator
 * (./soft-authenticator.ts) through the /passkeys page's own calls.
 */
import type { PublicKeyCredentialCreationOptionsJSON } from "@simplewebauthn/server";
import { expect } from "vitest";
import { Browser } from "./browser";
import { registerUser } from "./fixtures";
import { ISSUER } from "./http";
import type { SoftAuthenticator } from "./soft-authenticator";

/** A JSON call from one of edge-op's pages: its CSRF token in X-CSRF-Token, our Origin. */
export function pageJson(browser: Browser, path: string, csrf: string, body: unknown = {}): Promise<Response> {
  return browser.send(path, {
    method: "POST",
    headers: { "content-type": "application/json", origin: ISSUER, "x-csrf-token": csrf },
    body: JSON.stringify(body),
  });
}

/** The CSRF token the page's passkey script is given (#passkey-config's data-csrf). */
export const csrfOfConfig = (html: string): string => /data-csrf="([^"]+)"/.exec(html)?.[1] ?? "";

/** A data attribute of #passkey-config, HTML entities undone. */
export function configValue(html: string, name: string): string {
  const raw = new RegExp(`data-${name}="([^"]*)"`).exec(html)?.[1] ?? "";
  return raw.replace(/&amp;/g, "&");
}

/** A new user with a password (sign-in is rate limited per username, so each test has its own). */
export async function newPasswordUser(prefix = "pk"): Promise<{ username: string; password: string; sub: string }> {
  const username = `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
  const password = `${username}-password`;
  const sub = await registerUser({ username, password });
  return { username, password, sub };
}

/** A password session of `username` that registered a passkey on `authenticator`. */
export async function sessionWithPasskey(username: string, authenticator: SoftAuthenticator): Promise<Browser> {
  const browser = new Browser();
  await browser.signIn(username, `${username}-password`);
  await addPasskey(browser, authenticator);
  return browser;
}

/** Registers a passkey for the signed-in user of `browser` (WebAuthn §7.1), as the /passkeys page does. */
export async function addPasskey(browser: Browser, authenticator: SoftAuthenticator, label = "Test phone") {
  const csrf = csrfOfConfig(await (await browser.get("/passkeys")).text());
  const options = (await (
    await pageJson(browser, "/passkeys/register/options", csrf)
  ).json()) as PublicKeyCredentialCreationOptionsJSON;
  const response = await authenticator.register(options, ISSUER);
  const stored = await pageJson(browser, "/passkeys/register", csrf, { response, label });
  expect(stored.status).toBe(201);
}
