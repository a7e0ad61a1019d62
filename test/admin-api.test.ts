/**
 * The console's JSON API (/admin/api, issue 17): an admin's session (with X-CSRF-Token for
 * changes and the password again to remove a client) or an operator client's token with the
 * `admin` scope, which only a client_credentials-only client may register; the same functions
 * and audit rows as the pages.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN_SCOPE, validateClientRegistration } from "../src/clients/metadata";
import { loadSettings } from "../src/config";
import { Browser } from "./helpers/browser";
import { registerClient, registerUser } from "./helpers/fixtures";
import { basic, call, postForm } from "./helpers/http";
import { operatorToken } from "./helpers/operator";

let admin: { browser: Browser; sub: string; password: string; csrf: string };

beforeAll(async () => {
  const username = `api-admin-${crypto.randomUUID().slice(0, 8)}`;
  const password = `${username}-password`;
  const sub = await registerUser({ username, password });
  await env.DB.prepare("INSERT INTO admin_roles (sub, granted_at) VALUES (?, 0)").bind(sub).run();
  const browser = new Browser();
  expect((await browser.signIn(username, password, "/admin")).status).toBe(303);
  const csrf = Browser.csrfOf(await (await browser.get("/admin")).text());
  admin = { browser, sub, password, csrf };
});

const JSON_TYPE = { "content-type": "application/json" };

describe("with an admin's session", () => {
  it("lists clients, and a change without X-CSRF-Token is refused", async () => {
    await registerClient({ client_id: "api-listed" });
    const list = await admin.browser.get("/admin/api/clients?q=api-listed");
    expect(list.status).toBe(200);
    const body = (await list.json()) as { clients: { client_id: string; client_secret_hash?: string }[] };
    expect(body.clients.map((c) => c.client_id)).toEqual(["api-listed"]);
    const refused = await admin.browser.send("/admin/api/clients", {
      method: "POST",
      headers: JSON_TYPE,
      body: JSON.stringify({ client_id: "no-csrf", token_endpoint_auth_method: "client_secret_basic" }),
    });
    expect(refused.status).toBe(400);
    expect(await env.DB.prepare("SELECT 1 FROM clients WHERE client_id = 'no-csrf'").first()).toBeNull();
  });

  it("adds a client (secret once, field named on error) and removes it only with the password", async () => {
    const headers = { ...JSON_TYPE, "x-csrf-token": admin.csrf };
    const invalid = await admin.browser.send("/admin/api/clients", {
      method: "POST",
      headers,
      body: JSON.stringify({
        client_id: "api-kiosk",
        token_endpoint_auth_method: "client_secret_basic",
        grant_types: ["urn:openid:params:grant-type:ciba"],
        scope: "openid",
      }),
    });
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ field: "backchannel_token_delivery_mode" });
    const created = await admin.browser.send("/admin/api/clients", {
      method: "POST",
      headers,
      body: JSON.stringify({
        client_id: "api-kiosk",
        token_endpoint_auth_method: "client_secret_basic",
        grant_types: ["urn:openid:params:grant-type:ciba"],
        scope: "openid",
        backchannel_token_delivery_mode: "poll",
      }),
    });
    expect(created.status).toBe(201);
    const { client_secret } = (await created.json()) as { client_secret: string };
    expect(client_secret).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const noPassword = await admin.browser.send("/admin/api/clients/api-kiosk", { method: "DELETE", headers });
    expect(noPassword.status).toBe(401);
    const removed = await admin.browser.send("/admin/api/clients/api-kiosk", {
      method: "DELETE",
      headers,
      body: JSON.stringify({ password: admin.password }),
    });
    expect(removed.status).toBe(204);
    const { results } = await env.DB.prepare(
      "SELECT actor, action FROM admin_audit WHERE target = 'api-kiosk' ORDER BY id",
    ).all();
    expect(results).toEqual([
      { actor: admin.sub, action: "client.create" },
      { actor: admin.sub, action: "client.remove" },
    ]);
  });
});

describe("with an operator client's token", () => {
  it("only a client_credentials-only client may register the admin scope", () => {
    const scopes = [...loadSettings(env).scopesSupported, ADMIN_SCOPE];
    const base = {
      client_id: "wants-admin",
      client_name: "x",
      token_endpoint_auth_method: "client_secret_basic" as const,
      client_secret: "wants-admin-secret-0123456789",
      redirect_uris: [],
      scope: ADMIN_SCOPE,
      backchannel_user_code_parameter: false,
      require_pushed_authorization_requests: false,
    };
    expect(() =>
      validateClientRegistration({ ...base, grant_types: ["client_credentials", "refresh_token"] }, scopes),
    ).toThrow(/only operator clients/);
    expect(() => validateClientRegistration({ ...base, grant_types: ["client_credentials"] }, scopes)).not.toThrow();
  });

  it("an admin-scoped token uses the API and is audited as the client; other tokens get 403", async () => {
    const token = await operatorToken("operator");
    const list = await call("/admin/api/clients", { headers: { authorization: `Bearer ${token}` } });
    expect(list.status).toBe(200);
    const created = await call("/admin/api/clients", {
      method: "POST",
      headers: { ...JSON_TYPE, authorization: `Bearer ${token}` },
      body: JSON.stringify({
        client_id: "made-by-operator",
        token_endpoint_auth_method: "client_secret_post",
        grant_types: ["client_credentials"],
        scope: "",
      }),
    });
    expect(created.status).toBe(201);
    const row = await env.DB.prepare("SELECT actor FROM admin_audit WHERE target = 'made-by-operator'").first();
    expect(row).toEqual({ actor: "client:operator" });

    await registerClient({ client_id: "plain-service", scope: "" });
    const plain = (await (
      await postForm(
        "/token",
        { grant_type: "client_credentials" },
        basic("plain-service", "plain-service-secret-0123456789"),
      )
    ).json()) as { access_token: string };
    const refused = await call("/admin/api/clients", { headers: { authorization: `Bearer ${plain.access_token}` } });
    expect(refused.status).toBe(403);
  });
});
