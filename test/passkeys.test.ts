/**
 * Passkeys through the Worker (issue 16), with a software authenticator
 * (test/helpers/soft-authenticator.ts) playing the browser's part: register a passkey as a
 * signed-in user, sign in with it without a username (a discoverable credential), and approve a
 * CIBA request that asks for phr with a passkey assertion made for that approval; the ID token
 * then says acr "phr" with amr pop, user, mfa (RFC 8176). A used challenge, another user's
 * passkey and a missing assertion are refused.
 */

import type {
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from "@simplewebauthn/server";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { Browser } from "./helpers/browser";
import { backchannel, CIBA_GRANT, poll, requestFor, store } from "./helpers/ciba";
import { registerClient, registerUser } from "./helpers/fixtures";
import { ISSUER } from "./helpers/http";
import { SoftAuthenticator } from "./helpers/soft-authenticator";

const SECRET = "passkey-kiosk-secret-0123456789";

beforeAll(async () => {
  await registerClient({
    client_id: "passkey-kiosk",
    client_secret: SECRET,
    grant_types: [CIBA_GRANT],
    backchannel_token_delivery_mode: "poll",
    ciba_polling_interval: 1,
    scope: "openid profile",
  });
});

function json(browser: Browser, path: string, csrf: string, body: unknown = {}) {
  return browser.send(path, {
    method: "POST",
    headers: { "content-type": "application/json", origin: ISSUER, "x-csrf-token": csrf },
    body: JSON.stringify(body),
  });
}

const csrfOfConfig = (html: string) => /data-csrf="([^"]+)"/.exec(html)?.[1] ?? "";

/** A new user (sign-in is rate limited per username, so each test has its own). */
async function newUser(): Promise<string> {
  const username = `pk-${crypto.randomUUID().slice(0, 8)}`;
  await registerUser({ username, password: `${username}-password` });
  return username;
}

/** A password session with a passkey registered on `authenticator`. */
async function withPasskey(username: string, authenticator: SoftAuthenticator): Promise<Browser> {
  const browser = new Browser();
  await browser.signIn(username, `${username}-password`);
  const csrf = csrfOfConfig(await (await browser.get("/passkeys")).text());
  const options = (await (
    await json(browser, "/passkeys/register/options", csrf)
  ).json()) as PublicKeyCredentialCreationOptionsJSON;
  expect(options.authenticatorSelection).toMatchObject({ residentKey: "required", userVerification: "required" });
  const response = await authenticator.register(options, ISSUER);
  const stored = await json(browser, "/passkeys/register", csrf, { response, label: "Test phone" });
  expect(stored.status).toBe(201);
  return browser;
}

async function phrRequest(user: string): Promise<{ authReqId: string; internalId: string }> {
  const { status, body } = await backchannel("passkey-kiosk", SECRET, {
    scope: "openid profile",
    login_hint: user,
    acr_values: "phr",
    binding_message: "Transfer 100",
  });
  expect(status).toBe(200);
  return { authReqId: body.auth_req_id, internalId: (await requestFor(body.auth_req_id)).internalId };
}

/** The step-up on the request page: options, the authenticator's assertion, the approve form. */
async function approveWithPasskey(browser: Browser, internalId: string, authenticator: SoftAuthenticator) {
  const page = await (await browser.get(`/ciba/requests/${internalId}`)).text();
  expect(page).toContain("Approve with passkey");
  const csrf = Browser.csrfOf(page);
  const optionsResponse = await json(browser, `/ciba/requests/${internalId}/passkey-options`, csrf);
  expect(optionsResponse.status).toBe(200);
  const options = (await optionsResponse.json()) as PublicKeyCredentialRequestOptionsJSON;
  const assertion = await authenticator.authenticate(options, ISSUER);
  const answer = await browser.post(
    `/ciba/requests/${internalId}`,
    { csrf, action: "approve", scope: "profile", passkey_assertion: JSON.stringify(assertion) },
    { origin: ISSUER },
  );
  return { answer, assertion, csrf };
}

describe("register, sign in, step up", () => {
  it("registers a passkey (WebAuthn §7.1) and lists it on /passkeys", async () => {
    const browser = await withPasskey(await newUser(), new SoftAuthenticator());
    expect(await (await browser.get("/passkeys")).text()).toContain("Test phone");
  });

  it("signs in with a discoverable passkey and no username (§7.2, user handle required)", async () => {
    const authenticator = new SoftAuthenticator();
    await withPasskey(await newUser(), authenticator);
    const phone = new Browser();
    const signInPage = await (await phone.get("/signin?return_to=/ciba")).text();
    expect(signInPage).toContain("Sign in with a passkey");
    const csrf = csrfOfConfig(signInPage);
    const options = (await (
      await json(phone, "/signin/passkey/options", csrf)
    ).json()) as PublicKeyCredentialRequestOptionsJSON;
    expect(options.allowCredentials ?? []).toEqual([]);
    const response = await authenticator.authenticate(options, ISSUER);
    const signedIn = await json(phone, "/signin/passkey", csrf, { response, return_to: "/ciba" });
    expect(signedIn.status).toBe(200);
    expect(await signedIn.json()).toEqual({ redirect: "/ciba" });
    expect((await phone.get("/ciba")).status).toBe(200);
    // The challenge was used up with its cookie: the same assertion does not sign in twice.
    const fresh = csrfOfConfig(await (await phone.get("/ciba")).text());
    const again = await json(phone, "/signin/passkey", fresh, { response, return_to: "/ciba" });
    expect(again.status).toBe(400);
    expect(await again.json()).toMatchObject({ error: "invalid_request" });
  });

  it("signing in with a passkey as another user in the same browser ends the previous session and rotates the CSRF cookie", async () => {
    const authenticator = new SoftAuthenticator();
    await withPasskey(await newUser(), authenticator);
    const first = await newUser();
    const browser = new Browser();
    await browser.signIn(first, `${first}-password`);
    const before = new Map(browser.cookies);
    const oldCsrf = Browser.csrfOf(await (await browser.get("/ciba")).text());
    // The passkey button of a sign-in page still open in this browser.
    const options = (await (
      await json(browser, "/signin/passkey/options", oldCsrf)
    ).json()) as PublicKeyCredentialRequestOptionsJSON;
    const response = await authenticator.authenticate(options, ISSUER);
    expect((await json(browser, "/signin/passkey", oldCsrf, { response, return_to: "/ciba" })).status).toBe(200);
    // The first user's session is over on the server: its cookie signs nobody in any more.
    const replay = new Browser();
    for (const [name, value] of before) replay.cookies.set(name, value);
    expect((await replay.get("/ciba")).status).toBe(303);
    // A new CSRF cookie: the token the first user's pages carried no longer works.
    expect(browser.cookies.get("edge-op-csrf")).toBeDefined();
    expect(browser.cookies.get("edge-op-csrf")).not.toBe(before.get("edge-op-csrf"));
    expect((await browser.post("/signout", { csrf: oldCsrf })).status).toBe(403);
  });

  it("EAP phr: approving with a passkey assertion gives an ID token with acr phr and amr pop user mfa", async () => {
    const authenticator = new SoftAuthenticator();
    const user = await newUser();
    const browser = await withPasskey(user, authenticator);
    const { authReqId, internalId } = await phrRequest(user);
    const { answer } = await approveWithPasskey(browser, internalId, authenticator);
    expect(answer.status).toBe(200);
    expect(await answer.text()).toContain("Approved");
    const { status, body } = await poll("passkey-kiosk", SECRET, authReqId);
    expect(status).toBe(200);
    const claims = decodeJwt(String(body.id_token));
    expect(claims.acr).toBe("phr");
    expect(claims.amr).toEqual(["pop", "user", "mfa"]);
  });

  it("a password session without an assertion cannot approve a phr request (403), the request stays pending", async () => {
    const user = await newUser();
    const browser = await withPasskey(user, new SoftAuthenticator());
    const { internalId } = await phrRequest(user);
    const csrf = Browser.csrfOf(await (await browser.get(`/ciba/requests/${internalId}`)).text());
    const answer = await browser.post(`/ciba/requests/${internalId}`, { csrf, action: "approve" }, { origin: ISSUER });
    expect(answer.status).toBe(403);
    expect((await store().getByInternalId(internalId))?.status).toBe("pending");
  });

  it("an assertion is good for one approval only: replayed on another request it is refused", async () => {
    const authenticator = new SoftAuthenticator();
    const user = await newUser();
    const browser = await withPasskey(user, authenticator);
    const first = await phrRequest(user);
    const { assertion } = await approveWithPasskey(browser, first.internalId, authenticator);
    const second = await phrRequest(user);
    const csrf = Browser.csrfOf(await (await browser.get(`/ciba/requests/${second.internalId}`)).text());
    const replay = await browser.post(
      `/ciba/requests/${second.internalId}`,
      { csrf, action: "approve", passkey_assertion: JSON.stringify(assertion) },
      { origin: ISSUER },
    );
    expect(replay.status).toBeGreaterThanOrEqual(400);
    expect(replay.status).toBeLessThan(500);
    expect((await store().getByInternalId(second.internalId))?.status).toBe("pending");
  });

  it("another user's passkey does not step up this user's approval", async () => {
    const quinnsKey = new SoftAuthenticator();
    await withPasskey(await newUser(), quinnsKey);
    const user = await newUser();
    const pia = await withPasskey(user, new SoftAuthenticator());
    const { internalId } = await phrRequest(user);
    const { answer } = await approveWithPasskey(pia, internalId, quinnsKey);
    expect(answer.status).toBe(401);
    expect((await store().getByInternalId(internalId))?.status).toBe("pending");
  });
});
