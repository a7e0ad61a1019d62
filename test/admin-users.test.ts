/**
 * The console's user pages and signing keys page (issue 17): add (validated like the CLI, stored
 * hashed), search, reset password (ends the user's sessions), set and clear the CIBA user_code
 * (stored as a keyed hash, CIBA §7.1), the user's pending CIBA requests with their notification
 * status, and the keys of SIGNING_KEYS read-only (console keys: test/admin-keys.test.ts). Every
 * change writes an audit row.
 */

import { env } from "cloudflare:workers";
import type {
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
} from "@simplewebauthn/server";
import { beforeAll, describe, expect, it } from "vitest";
import { pkce, walk } from "./helpers/authorize";
import { Browser } from "./helpers/browser";
import { backchannel, CIBA_GRANT, editRecord, requestFor } from "./helpers/ciba";
import { registerClient, registerUser } from "./helpers/fixtures";
import { basic, call, ISSUER, postForm } from "./helpers/http";
import { client, discoverAs } from "./helpers/rp";
import { SoftAuthenticator } from "./helpers/soft-authenticator";

const csrfOfPage = (path: string) => csrf(path);

let browser: Browser;

beforeAll(async () => {
  const username = `users-admin-${crypto.randomUUID().slice(0, 8)}`;
  const sub = await registerUser({ username, password: `${username}-password` });
  await env.DB.prepare("INSERT INTO admin_roles (sub, granted_at) VALUES (?, 0)").bind(sub).run();
  browser = new Browser();
  expect((await browser.signIn(username, `${username}-password`, "/admin")).status).toBe(303);
});

async function csrf(path: string): Promise<string> {
  return Browser.csrfOf(await (await browser.get(path)).text());
}

async function audit(target: string): Promise<unknown[]> {
  const { results } = await env.DB.prepare("SELECT action FROM admin_audit WHERE target = ? ORDER BY id")
    .bind(target)
    .all();
  return results.map((row) => row.action);
}

describe("users", () => {
  it("adds a user with a hashed password, finds it by search, and shows a bad password beside its field", async () => {
    const bad = await browser.post("/admin/users", {
      csrf: await csrf("/admin/users"),
      username: "dora",
      password: "short",
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/id="new-password-error" role="alert">password must have at least 8 characters/);

    const response = await browser.post("/admin/users", {
      csrf: await csrf("/admin/users"),
      username: "dora",
      password: "dora-password",
      name: "Dora Example",
      email: "dora@example.com",
    });
    expect(response.status).toBe(303);
    const row = await env.DB.prepare("SELECT sub, password_hash FROM users WHERE username = 'dora'").first<{
      sub: string;
      password_hash: string;
    }>();
    expect(row?.password_hash).toMatch(/^pbkdf2-sha256\$/);
    expect(await audit(row?.sub ?? "")).toEqual(["user.create"]);
    expect(await (await browser.get("/admin/users?q=Dora")).text()).toContain("dora@example.com");
    expect(await new Browser().signIn("dora", "dora-password")).toHaveProperty("status", 303);
  });

  it("resets a password: the old one stops working and the user's sessions end", async () => {
    const sub = await registerUser({ username: "emil", password: "emil-password" });
    const emil = new Browser();
    await emil.signIn("emil", "emil-password");
    expect((await emil.get("/ciba")).status).toBe(200);
    const response = await browser.post(`/admin/users/${sub}/password`, {
      csrf: await csrf(`/admin/users/${sub}`),
      new_password: "emil-new-password",
    });
    expect(response.status).toBe(200);
    expect((await emil.get("/ciba")).status).toBe(303);
    expect((await new Browser().signIn("emil", "emil-password")).status).toBe(401);
    expect((await new Browser().signIn("emil", "emil-new-password")).status).toBe(303);
    expect(await audit(sub)).toEqual(["user.reset_password"]);
  });

  it("sets a user_code as a keyed hash and clears it", async () => {
    const sub = await registerUser({ username: "fritz", password: "fritz-password" });
    const page = `/admin/users/${sub}`;
    const tooShort = await browser.post(`${page}/user-code`, {
      csrf: await csrf(page),
      user_code: "12",
      action: "set",
    });
    expect(tooShort.status).toBe(400);
    await browser.post(`${page}/user-code`, { csrf: await csrf(page), user_code: "fritz-code-7", action: "set" });
    const set = await env.DB.prepare("SELECT user_code_hash FROM users WHERE sub = ?")
      .bind(sub)
      .first<{ user_code_hash: string }>();
    expect(set?.user_code_hash).toMatch(/^hmac-sha256\$/);
    expect(set?.user_code_hash).not.toContain("fritz-code-7");
    await browser.post(`${page}/user-code`, { csrf: await csrf(page), action: "clear" });
    expect(await env.DB.prepare("SELECT user_code_hash FROM users WHERE sub = ?").bind(sub).first()).toEqual({
      user_code_hash: null,
    });
    expect(await audit(sub)).toEqual(["user.set_user_code", "user.clear_user_code"]);
  });

  it("lists the user's pending CIBA requests with their notification status", async () => {
    await registerClient({
      client_id: "users-kiosk",
      client_secret: "users-kiosk-secret-0123456789",
      grant_types: [CIBA_GRANT],
      backchannel_token_delivery_mode: "poll",
      scope: "openid",
    });
    const sub = await registerUser({ username: "greta", password: "greta-password" });
    const { status } = await backchannel("users-kiosk", "users-kiosk-secret-0123456789", {
      scope: "openid",
      login_hint: "greta",
      binding_message: "Console check 42",
    });
    expect(status).toBe(200);
    const html = await (await browser.get(`/admin/users/${sub}`)).text();
    expect(html).toContain("Console check 42");
    expect(html).toMatch(/(pending|sent|failed) \(\d+ attempts\)/);
  });

  it("a pending request whose user notification failed is flagged on the user's page, not only in the logs", async () => {
    const sub = await registerUser({ username: "hanna", password: "hanna-password" });
    const { body } = await backchannel("users-kiosk", "users-kiosk-secret-0123456789", {
      scope: "openid",
      login_hint: "hanna",
      binding_message: "Failed notice 7",
    });
    const before = await (await browser.get(`/admin/users/${sub}`)).text();
    expect(before).not.toContain("notification(s) of these requests failed");
    const { internalId } = await requestFor(body.auth_req_id);
    await editRecord(internalId, (record) => {
      record.notificationStatus = "failed";
      record.notificationAttempts = 4;
    });
    const html = await (await browser.get(`/admin/users/${sub}`)).text();
    expect(html).toContain("Failed notice 7");
    expect(html).toContain("failed (4 attempts)");
    expect(html).toContain("1 notification(s) of these requests failed");
  });
});

describe("disabling a user", () => {
  const SECRET = "disable-app-secret-0123456789";
  const CALLBACK = "https://rp.example/cb";

  /** A user signed in with a browser session, holding tokens of a code flow with offline_access. */
  async function grantedUser() {
    const clientId = `disable-app-${crypto.randomUUID().slice(0, 8)}`;
    await registerClient({
      client_id: clientId,
      client_secret: SECRET,
      grant_types: ["authorization_code", "refresh_token"],
      redirect_uris: [CALLBACK],
      scope: "openid offline_access",
    });
    const username = `dis-${crypto.randomUUID().slice(0, 8)}`;
    const sub = await registerUser({ username, password: `${username}-password` });
    const user = new Browser();
    const config = await discoverAs(clientId, SECRET, client.ClientSecretBasic(SECRET));
    const { verifier, challenge } = await pkce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: CALLBACK,
      scope: "openid offline_access",
      code_challenge: challenge,
      code_challenge_method: "S256",
    });
    const response = await walk(user, url, { username, password: `${username}-password` });
    const tokens = await client.authorizationCodeGrant(config, new URL(response.headers.get("location") ?? ""), {
      pkceCodeVerifier: verifier,
    });
    return { clientId, username, sub, user, tokens };
  }

  async function refreshStatus(clientId: string, refreshToken: string): Promise<number> {
    const response = await postForm(
      "/token",
      { grant_type: "refresh_token", refresh_token: refreshToken },
      basic(clientId, SECRET),
    );
    return response.status;
  }

  beforeAll(async () => {
    await registerClient({
      client_id: "disable-kiosk",
      client_secret: "disable-kiosk-secret-0123456789",
      grant_types: [CIBA_GRANT],
      backchannel_token_delivery_mode: "poll",
      scope: "openid",
    });
  });

  it("a disabled user cannot sign in, is unknown_user_id at bc-authorize (CIBA §13), loses sessions and refresh tokens; enabling lets them sign in again", async () => {
    const { clientId, username, sub, user, tokens } = await grantedUser();
    const password = `${username}-password`;
    expect(tokens.refresh_token).toBeTruthy();
    expect((await user.get("/ciba")).status).toBe(200);

    const disabled = await browser.post(`/admin/users/${sub}/disable`, {
      csrf: await csrf(`/admin/users/${sub}`),
      disabled: "true",
    });
    expect(disabled.status).toBe(200);
    expect(await disabled.text()).toMatch(/disabled since/);

    expect((await user.get("/ciba")).status).toBe(303);
    expect((await new Browser().signIn(username, password)).status).toBe(401);
    const ciba = await backchannel("disable-kiosk", "disable-kiosk-secret-0123456789", {
      scope: "openid",
      login_hint: username,
    });
    expect([ciba.status, ciba.body.error]).toEqual([400, "unknown_user_id"]);
    expect(await refreshStatus(clientId, tokens.refresh_token ?? "")).toBe(400);
    expect((await call("/userinfo", { headers: { authorization: `Bearer ${tokens.access_token}` } })).status).toBe(401);

    const enabled = await browser.post(`/admin/users/${sub}/disable`, {
      csrf: await csrf(`/admin/users/${sub}`),
      disabled: "false",
    });
    expect(enabled.status).toBe(200);
    expect((await new Browser().signIn(username, password)).status).toBe(303);
    const again = await backchannel("disable-kiosk", "disable-kiosk-secret-0123456789", {
      scope: "openid",
      login_hint: username,
    });
    expect(again.status).toBe(200);
    // What was revoked stays revoked: enabling restores the account, not its old tokens.
    expect(await refreshStatus(clientId, tokens.refresh_token ?? "")).toBe(400);
    expect(await audit(sub)).toEqual(["user.disable", "user.enable"]);
  });
});

describe("disabling a user who has a passkey", () => {
  const json = (client: Browser, path: string, csrf: string, body: unknown = {}) =>
    client.send(path, {
      method: "POST",
      headers: { "content-type": "application/json", origin: ISSUER, "x-csrf-token": csrf },
      body: JSON.stringify(body),
    });
  const configCsrf = (html: string) => /data-csrf="([^"]+)"/.exec(html)?.[1] ?? "";

  /** A passkey sign-in without a username, as the sign-in page's script does it. */
  async function passkeySignIn(authenticator: SoftAuthenticator): Promise<{ status: number; phone: Browser }> {
    const phone = new Browser();
    const csrf = configCsrf(await (await phone.get("/signin?return_to=/ciba")).text());
    const options = (await (
      await json(phone, "/signin/passkey/options", csrf)
    ).json()) as PublicKeyCredentialRequestOptionsJSON;
    const response = await authenticator.authenticate(options, ISSUER);
    const answer = await json(phone, "/signin/passkey", csrf, { response, return_to: "/ciba" });
    return { status: answer.status, phone };
  }

  it("a disabled user's passkey starts no session (a passkey names its user without a lookup)", async () => {
    const username = `dis-pk-${crypto.randomUUID().slice(0, 8)}`;
    const sub = await registerUser({ username, password: `${username}-password` });
    const authenticator = new SoftAuthenticator();
    const owner = new Browser();
    await owner.signIn(username, `${username}-password`);
    const csrf = configCsrf(await (await owner.get("/passkeys")).text());
    const creation = (await (
      await json(owner, "/passkeys/register/options", csrf)
    ).json()) as PublicKeyCredentialCreationOptionsJSON;
    const registered = await json(owner, "/passkeys/register", csrf, {
      response: await authenticator.register(creation, ISSUER),
      label: "Phone",
    });
    expect(registered.status).toBe(201);
    expect((await passkeySignIn(authenticator)).status).toBe(200);

    await browser.post(`/admin/users/${sub}/disable`, {
      csrf: await csrfOfPage(`/admin/users/${sub}`),
      disabled: "true",
    });
    const refused = await passkeySignIn(authenticator);
    expect(refused.status).toBe(403);
    expect((await refused.phone.get("/ciba")).status).toBe(303);
  });
});

describe("signing keys", () => {
  it("lists the keys of SIGNING_KEYS read-only, the first as the one that signs, and explains rotation", async () => {
    const html = await (await browser.get("/admin/keys")).text();
    const first = JSON.parse(env.SIGNING_KEYS ?? "{}").keys[0].kid as string;
    expect(html).toContain(first);
    expect(html).toContain("from the secret; signs new tokens");
    expect(html).not.toMatch(/"d":/);
    expect(html).toContain("wrangler secret put SIGNING_KEYS");
    // Read-only: a secret's key has no page of its own (no retire); the forms are the header's
    // sign-out and adding a console key (test/admin-keys.test.ts).
    expect(html).not.toContain(`href="/admin/keys/${first}"`);
    expect(html.match(/<form method="post"/g)).toHaveLength(2);
    expect(html).toContain('<form method="post" action="/admin/keys"');
  });
});
