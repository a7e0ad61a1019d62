/**
 * The console's user pages and signing keys page (issue 17): add (validated like the CLI, stored
 * hashed), search, reset password (ends the user's sessions), set and clear the CIBA user_code
 * (stored as a keyed hash, CIBA §7.1), the user's pending CIBA requests with their notification
 * status, and the keys of SIGNING_KEYS read-only. Every change writes an audit row.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { Browser } from "./helpers/browser";
import { backchannel, CIBA_GRANT } from "./helpers/ciba";
import { registerClient, registerUser } from "./helpers/fixtures";

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
});

describe("signing keys", () => {
  it("lists the keys of SIGNING_KEYS read-only, the first as the one that signs, and explains rotation", async () => {
    const html = await (await browser.get("/admin/keys")).text();
    const first = JSON.parse(env.SIGNING_KEYS ?? "{}").keys[0].kid as string;
    expect(html).toContain(first);
    expect(html).toContain("signs new tokens");
    expect(html).not.toMatch(/"d":/);
    // Read-only: the page's only form is the header's sign-out.
    expect(html.match(/<form method="post"/g)).toHaveLength(1);
    expect(html).toContain('<form method="post" action="/signout"');
  });
});
