/**
 * Issue 19, "Durable Object eviction / reset", for the two objects test/eviction.test.ts does not
 * drop: the per-user object (USERS: the user's pending CIBA requests and the caps counted over
 * them) and the back-channel logout delivery object (LOGOUT_DELIVERIES: a logout token waiting
 * for its retry). Between the steps, every object of the namespace loses its instance, once
 * gracefully ("evicted") and once with ctx.abort() ("reset"); each drop is checked to have
 * happened (test/helpers/eviction.ts).
 */
import { createExecutionContext, runDurableObjectAlarm, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { createProvider } from "../src/index";
import { pkce, walk } from "./helpers/authorize";
import { Browser } from "./helpers/browser";
import { type BackchannelResponse, CIBA_GRANT, requestFor } from "./helpers/ciba";
import { DROP_MODES, type DropMode, dropMemory } from "./helpers/eviction";
import { registerClient, registerUser } from "./helpers/fixtures";
import { basic, ISSUER, jsonOf, type OAuthErrorBody } from "./helpers/http";
import { outsideUrl, program, received } from "./helpers/outside";
import { client, discoverAs } from "./helpers/rp";

const SECRET = "evict-users-secret-0123456789";
const CALLBACK = "https://evict-users.example/cb";
/** The cap on one user's pending requests from one client, for this file's provider. */
const PER_USER_AND_CLIENT = 3;
/**
 * The suite's Worker allows 1000 (vitest.config.ts), so bc-authorize goes through a provider of
 * this file's own with the cap lowered; the pages are the suite's Worker, on the same storage.
 */
const capped = createProvider<Cloudflare.Env>();
const cappedEnv = { ...env, CIBA_MAX_PENDING_PER_USER_AND_CLIENT: String(PER_USER_AND_CLIENT) };

beforeAll(async () => {
  await registerClient({
    client_id: "evict-users-kiosk",
    client_secret: SECRET,
    grant_types: [CIBA_GRANT],
    backchannel_token_delivery_mode: "poll",
    scope: "openid profile",
  });
});

async function signedInUser() {
  const username = `evu-${crypto.randomUUID().slice(0, 8)}`;
  const password = `${username}-password`;
  const sub = await registerUser({ username, password });
  const browser = new Browser();
  expect((await browser.signIn(username, password)).status).toBe(303);
  return { username, password, sub, browser };
}

async function ask(username: string, bindingMessage: string) {
  const ctx = createExecutionContext();
  const request = new Request(`${ISSUER}/bc-authorize`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...basic("evict-users-kiosk", SECRET) },
    body: new URLSearchParams({ scope: "openid", login_hint: username, binding_message: bindingMessage }),
  });
  const response = await capped.fetch(request, cappedEnv, ctx);
  await waitOnExecutionContext(ctx);
  return jsonOf<BackchannelResponse & OAuthErrorBody>(response);
}

describe.each(DROP_MODES)("the per-user object %s between calls answers from storage", (mode: DropMode) => {
  it("its pending list and the per-user-and-client cap (CIBA §13 access_denied) survive every drop", async () => {
    const user = await signedInUser();
    const ids: string[] = [];
    for (let i = 0; i < PER_USER_AND_CLIENT; i++) {
      const { status, body } = await ask(user.username, `evict ${mode} ${i}`);
      expect(status).toBe(200);
      ids.push(body.auth_req_id);
      expect(await dropMemory(env.USERS, mode)).toBeGreaterThan(0);
    }
    // Counted from storage: one more is refused although no instance saw the five arrive.
    const over = await ask(user.username, `evict ${mode} over`);
    expect(over.status).toBe(403);
    expect(over.body.error).toBe("access_denied");

    await dropMemory(env.USERS, mode);
    const list = await (await user.browser.get("/ciba")).text();
    // (Each binding message as the page renders it: the text, then its element's end.)
    for (let i = 0; i < PER_USER_AND_CLIENT; i++) expect(list).toContain(`evict ${mode} ${i}<`);

    // Denied on its page, the first leaves the list, also as the next instance reads it.
    const { internalId } = await requestFor(ids[0] ?? "");
    const page = await user.browser.get(`/ciba/requests/${internalId}`);
    const answered = await user.browser.post(`/ciba/requests/${internalId}`, {
      csrf: Browser.csrfOf(await page.text()),
      action: "deny",
    });
    await answered.body?.cancel();
    expect(answered.status).toBeLessThan(400);
    await dropMemory(env.USERS, mode);
    const after = await (await user.browser.get("/ciba")).text();
    expect(after).not.toContain(`evict ${mode} 0<`);
    expect(after).toContain(`evict ${mode} 1`);
    // …and its place is free again.
    expect((await ask(user.username, `evict ${mode} again`)).status).toBe(200);
  });
});

describe.each(DROP_MODES)("the logout delivery object %s between attempts", (mode: DropMode) => {
  it("a logout token whose first delivery got 503 is retried by the new instance, the same token", async () => {
    const clientId = `evu-${mode}-${crypto.randomUUID().slice(0, 8)}`;
    const path = `/bcl/${crypto.randomUUID()}`;
    await registerClient({
      client_id: clientId,
      client_secret: SECRET,
      grant_types: ["authorization_code"],
      redirect_uris: [CALLBACK],
      scope: "openid",
      backchannel_logout_uri: outsideUrl(path),
    });
    await program(path, [{ status: 503 }, { status: 200 }]);

    // Signed in to the client through the code flow (the ID token names the session), then
    // signed out: a delivery is queued in the object named after the session and the client.
    const user = await signedInUser();
    const config = await discoverAs(clientId, SECRET, client.ClientSecretBasic(SECRET));
    const { verifier, challenge } = await pkce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: CALLBACK,
      scope: "openid",
      code_challenge: challenge,
      code_challenge_method: "S256",
      state: "s",
    });
    const back = await walk(user.browser, url, user);
    expect(back.status).toBe(303);
    const tokens = await client.authorizationCodeGrant(config, new URL(back.headers.get("location") ?? ""), {
      pkceCodeVerifier: verifier,
      expectedState: "s",
    });
    const sid = String(decodeJwt(tokens.id_token ?? "").sid);
    const form = await user.browser.get("/ciba");
    const signedOut = await user.browser.post("/signout", { csrf: Browser.csrfOf(await form.text()) });
    await signedOut.body?.cancel();
    const delivery = () => env.LOGOUT_DELIVERIES.get(env.LOGOUT_DELIVERIES.idFromName(`bcl:${sid}:${clientId}`));
    await attemptsUntil(delivery(), path, 1);

    expect(await dropMemory(env.LOGOUT_DELIVERIES, mode)).toBeGreaterThan(0);
    // A new stub: one that reached the reset instance stays broken.
    const stub = delivery();
    await attemptsUntil(stub, path, 2);
    const got = await received(path);
    expect(got).toHaveLength(2);
    expect(new URLSearchParams(got[1]?.body).get("logout_token")).toBe(
      new URLSearchParams(got[0]?.body).get("logout_token"),
    );
    // Delivered: nothing is left to retry.
    expect(await runDurableObjectAlarm(stub)).toBe(false);
  });
});

/** Runs the delivery object's alarm until the receiver at `path` has had `count` attempts. */
async function attemptsUntil(stub: DurableObjectStub, path: string, count: number): Promise<void> {
  for (let i = 0; i < 80; i++) {
    if ((await received(path)).length >= count) return;
    if (!(await runDurableObjectAlarm(stub))) await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`the back-channel logout did not reach ${path} ${count} times`);
}
