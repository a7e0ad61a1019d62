/**
 * The administration console (issue 17): who may use it (admins only, 403 for everyone else on
 * every route of the table), its session rules (idle timeout, the password again for removing a
 * client), CSRF and CSP, the audit row every change writes, and the client pages validated by
 * the registry's own code.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { DEV_ADMIN, devSeedSql } from "../scripts/lib/dev-seed";
import { loadSettings } from "../src/config";
import { PATHS, type RouteName } from "../src/routes";
import { Browser } from "./helpers/browser";
import { clientKeyPair, registerClient, registerUser } from "./helpers/fixtures";
import { basic, postForm } from "./helpers/http";

async function newUser(admin: boolean): Promise<{ username: string; sub: string }> {
  const username = `${admin ? "admin" : "user"}-${crypto.randomUUID().slice(0, 8)}`;
  const sub = await registerUser({ username, password: `${username}-password` });
  if (admin) {
    await env.DB.prepare("INSERT INTO admin_roles (sub, granted_at) VALUES (?, ?)").bind(sub, 0).run();
  }
  return { username, sub };
}

async function signedIn(admin: boolean): Promise<{ browser: Browser; username: string; sub: string }> {
  const user = await newUser(admin);
  const browser = new Browser();
  const response = await browser.signIn(user.username, `${user.username}-password`, "/admin");
  expect(response.status).toBe(303);
  return { browser, ...user };
}

/** Every console path of the route table, its parameters filled in. */
const CONSOLE_ROUTES = (Object.entries(PATHS) as [RouteName, string][])
  .filter(([, path]) => path === "/admin" || path.startsWith("/admin/"))
  .map(([name, path]) => ({ name, path: path.replace(/:[A-Za-z]+/g, "some-id") }));

async function auditRows(target: string) {
  const { results } = await env.DB.prepare("SELECT actor, action, target FROM admin_audit WHERE target = ? ORDER BY id")
    .bind(target)
    .all();
  return results;
}

describe("who may use the console", () => {
  it("the route table has console routes to walk", () => {
    expect(CONSOLE_ROUTES.length).toBeGreaterThanOrEqual(8);
  });

  it("a signed-in user without the admin role gets 403 on every console page and form, GET and POST", async () => {
    const { browser } = await signedIn(false);
    // A valid CSRF token, so a 403 can only come from the role check.
    const csrf = Browser.csrfOf(await (await browser.get("/signin?prompt=login")).text());
    for (const { path } of CONSOLE_ROUTES) {
      for (const method of ["GET", "POST"] as const) {
        const response =
          method === "GET" ? await browser.get(path) : await browser.post(path, { csrf, disabled: "true" });
        expect([path, method, response.status]).toEqual([path, method, 403]);
        expect(await response.text()).toContain("administrators only");
      }
    }
    expect(
      (await env.DB.prepare("SELECT COUNT(*) AS n FROM admin_audit WHERE actor NOT LIKE 'admin-%'").first())?.n,
    ).toBe(0);
  });

  it("without a session every console page sends the browser to sign in, and the API answers 401", async () => {
    for (const { path } of CONSOLE_ROUTES) {
      const response = await new Browser().get(path);
      if (path === "/admin/api" || path.startsWith("/admin/api/")) {
        expect([path, response.status]).toEqual([path, 401]);
        expect(response.headers.get("www-authenticate")).toContain("Bearer");
        continue;
      }
      expect(response.status).toBe(303);
      expect(response.headers.get("location")).toBe(`/signin?return_to=${encodeURIComponent(path)}`);
    }
  });

  it("the dev seed's admin / admin-password is an admin", async () => {
    const settings = loadSettings(env);
    const sql = await devSeedSql({
      scopesSupported: settings.scopesSupported,
      dataEncryptionKey: env.DATA_ENCRYPTION_KEY,
    });
    for (const statement of sql.split("\n").filter((line) => line.startsWith("INSERT"))) {
      await env.DB.prepare(statement).run();
    }
    const browser = new Browser();
    expect((await browser.signIn(DEV_ADMIN.username, "admin-password", "/admin")).status).toBe(303);
    expect((await browser.get("/admin")).status).toBe(200);
  });

  it("an admin sees the console with the user pages' headers plus form-action 'self'", async () => {
    const { browser } = await signedIn(true);
    const response = await browser.get("/admin");
    expect(response.status).toBe(200);
    const csp = response.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("form-action 'self'");
    expect(response.headers.get("x-frame-options")).toBe("DENY");
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(await response.text()).not.toMatch(/<script/);
  });

  it("an admin session idle in the console for longer than ADMIN_IDLE_TIMEOUT is ended", async () => {
    const { browser } = await signedIn(true);
    expect((await browser.get("/admin")).status).toBe(200);
    const sid = await env.DB.prepare(
      "SELECT sid FROM admin_session_activity ORDER BY last_seen_at DESC, rowid DESC LIMIT 1",
    ).first<{ sid: string }>();
    await env.DB.prepare("UPDATE admin_session_activity SET last_seen_at = last_seen_at - 901 WHERE sid = ?")
      .bind(sid?.sid)
      .run();
    const response = await browser.get("/admin/clients");
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe(`/signin?return_to=${encodeURIComponent("/admin/clients")}`);
    // Ended, not just refused: the session no longer signs the user in anywhere.
    expect((await browser.get("/ciba")).status).toBe(303);
  });
});

describe("clients", () => {
  let admin: Awaited<ReturnType<typeof signedIn>>;
  beforeAll(async () => {
    admin = await signedIn(true);
  });

  async function csrfOf(path: string): Promise<string> {
    return Browser.csrfOf(await (await admin.browser.get(path)).text());
  }

  it("offers the tutorial's templates", async () => {
    const html = await (await admin.browser.get("/admin/clients/new")).text();
    for (const title of ["CIBA device (FAPI-CIBA)", "CIBA device (plain)", "Web app with PAR", "Machine to machine"]) {
      expect(html).toContain(title);
    }
    const fapi = await (await admin.browser.get("/admin/clients/new?template=ciba-fapi")).text();
    expect(fapi).toContain('value="CN=client"');
  });

  it("offers FAPI 2.0 variants prefilled with profile fapi2 (a web app with PAR, private_key_jwt and DPoP; a CIBA device)", async () => {
    const html = await (await admin.browser.get("/admin/clients/new")).text();
    expect(html).toContain("FAPI 2.0 web app");
    expect(html).toContain("FAPI 2.0 CIBA device");
    const web = await (await admin.browser.get("/admin/clients/new?template=fapi2-web")).text();
    expect(web).toMatch(/<option value="fapi2" selected="">fapi2<\/option>/);
    expect(web).toMatch(/<option value="private_key_jwt" selected="">/);
    expect(web).toMatch(/<option value="PS256" selected="">PS256<\/option>/);
    expect(web).toMatch(/name="require_pushed_authorization_requests" checked=""/);
    expect(web).toMatch(/name="dpop_bound_access_tokens" checked=""/);
    const device = await (await admin.browser.get("/admin/clients/new?template=fapi2-ciba")).text();
    expect(device).toMatch(/<option value="fapi2" selected="">/);
    expect(device).toContain('value="CN=client"');
  });

  it("FAPI 2.0 §5.3.2.1: a fapi2 web app from the template is saved with its profile; a secret method is refused beside its field", async () => {
    const { publicJwk } = await clientKeyPair("PS256");
    const fields = {
      client_id: "fapi2-web-app",
      token_endpoint_auth_method: "private_key_jwt",
      token_endpoint_auth_signing_alg: "PS256",
      grant_types: ["authorization_code", "refresh_token"],
      redirect_uris: "https://app.example.com/callback",
      scope: "openid profile",
      require_pushed_authorization_requests: "on",
      profile: "fapi2",
      dpop_bound_access_tokens: "on",
      jwks: JSON.stringify({ keys: [publicJwk] }),
    };
    const refused = await admin.browser.post("/admin/clients/new", {
      ...fields,
      csrf: await csrfOf("/admin/clients/new?template=fapi2-web"),
      token_endpoint_auth_method: "client_secret_basic",
      jwks: "",
    });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toMatch(
      /id="token_endpoint_auth_method-error" role="alert">FAPI 2.0 §5.3.2.1: a fapi2 client authenticates with/,
    );
    const saved = await admin.browser.post("/admin/clients/new", {
      ...fields,
      csrf: await csrfOf("/admin/clients/new?template=fapi2-web"),
    });
    expect(saved.status).toBe(201);
    const row = await env.DB.prepare(
      "SELECT profile, dpop_bound_access_tokens, token_endpoint_auth_signing_alg, require_pushed_authorization_requests FROM clients WHERE client_id = 'fapi2-web-app'",
    ).first();
    expect(row).toEqual({
      profile: "fapi2",
      dpop_bound_access_tokens: 1,
      token_endpoint_auth_signing_alg: "PS256",
      require_pushed_authorization_requests: 1,
    });
    expect(await auditRows("fapi2-web-app")).toEqual([
      { actor: admin.sub, action: "client.create", target: "fapi2-web-app" },
    ]);
  });

  it("FAPI-CIBA §5.2.2: a fapi2 CIBA device is refused push mode beside the delivery mode, and saved with poll", async () => {
    const { publicJwk } = await clientKeyPair("PS256");
    const fields = {
      client_id: "fapi2-device",
      token_endpoint_auth_method: "tls_client_auth",
      tls_client_auth_subject_dn: "CN=client",
      grant_types: "urn:openid:params:grant-type:ciba",
      scope: "openid profile",
      backchannel_token_delivery_mode: "push",
      backchannel_client_notification_endpoint: "https://device.example.com/cb",
      backchannel_authentication_request_signing_alg: "PS256",
      fapi_ciba: "on",
      profile: "fapi2",
      jwks: JSON.stringify({ keys: [publicJwk] }),
    };
    const refused = await admin.browser.post("/admin/clients/new", {
      ...fields,
      csrf: await csrfOf("/admin/clients/new?template=fapi2-ciba"),
    });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toMatch(/id="backchannel_token_delivery_mode-error" role="alert">[^<]*push/);
    const saved = await admin.browser.post("/admin/clients/new", {
      ...fields,
      csrf: await csrfOf("/admin/clients/new?template=fapi2-ciba"),
      backchannel_token_delivery_mode: "poll",
      backchannel_client_notification_endpoint: "",
    });
    expect(saved.status).toBe(201);
    const row = await env.DB.prepare("SELECT profile, fapi_ciba FROM clients WHERE client_id = 'fapi2-device'").first();
    expect(row).toEqual({ profile: "fapi2", fapi_ciba: 1 });
  });

  it("adds a client from a template, shows its secret once, stores only its hash, and audits it", async () => {
    const csrf = await csrfOf("/admin/clients/new?template=ciba-plain");
    const response = await admin.browser.post("/admin/clients/new", {
      csrf,
      client_id: "console-kiosk",
      client_name: "Console kiosk",
      token_endpoint_auth_method: "client_secret_basic",
      grant_types: "urn:openid:params:grant-type:ciba",
      scope: "openid profile",
      backchannel_token_delivery_mode: "poll",
    });
    expect(response.status).toBe(201);
    const html = await response.text();
    const secret = /id="client-secret">([^<]+)</.exec(html)?.[1] ?? "";
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const row = await env.DB.prepare("SELECT * FROM clients WHERE client_id = 'console-kiosk'").first();
    expect(JSON.stringify(row)).not.toContain(secret);
    // The secret works at the token endpoint (client_credentials is not granted: unauthorized_client, not invalid_client).
    const token = await postForm("/token", { grant_type: "client_credentials" }, basic("console-kiosk", secret));
    expect(((await token.json()) as { error: string }).error).toBe("unauthorized_client");
    // Shown once: the client's page afterwards does not have it.
    expect(await (await admin.browser.get("/admin/clients/console-kiosk")).text()).not.toContain(secret);
    expect(await auditRows("console-kiosk")).toEqual([
      { actor: admin.sub, action: "client.create", target: "console-kiosk" },
    ]);
  });

  it("shows the registry's error beside the field and saves nothing", async () => {
    const csrf = await csrfOf("/admin/clients/new?template=ciba-plain");
    const response = await admin.browser.post("/admin/clients/new", {
      csrf,
      client_id: "no-delivery-mode",
      token_endpoint_auth_method: "client_secret_basic",
      grant_types: "urn:openid:params:grant-type:ciba",
      scope: "openid",
      backchannel_token_delivery_mode: "",
    });
    expect(response.status).toBe(400);
    const html = await response.text();
    expect(html).toMatch(
      /id="backchannel_token_delivery_mode-error" role="alert">CIBA clients need backchannel_token_delivery_mode/,
    );
    expect(await env.DB.prepare("SELECT 1 FROM clients WHERE client_id = 'no-delivery-mode'").first()).toBeNull();
  });

  it("refuses a form without the CSRF token", async () => {
    const response = await admin.browser.post("/admin/clients/new", {
      client_id: "no-csrf",
      token_endpoint_auth_method: "client_secret_basic",
      grant_types: "client_credentials",
    });
    expect(response.status).toBe(403);
    expect(await env.DB.prepare("SELECT 1 FROM clients WHERE client_id = 'no-csrf'").first()).toBeNull();
  });

  it("lists and searches clients", async () => {
    await registerClient({ client_id: "searchable-zebra" });
    const html = await (await admin.browser.get("/admin/clients?q=zebra")).text();
    expect(html).toContain("searchable-zebra");
    expect(html).not.toContain("console-kiosk");
  });

  it("edits a client through the registry's validation, keeping its secret", async () => {
    const reg = await registerClient({
      client_id: "editable",
      scope: "openid",
      grant_types: ["authorization_code"],
      redirect_uris: ["https://app.example/cb"],
      par_request_lifetime: 30,
    });
    const csrf = await csrfOf("/admin/clients/editable/edit");
    const response = await admin.browser.post("/admin/clients/editable/edit", {
      csrf,
      client_name: "Edited",
      token_endpoint_auth_method: "client_secret_basic",
      grant_types: ["authorization_code", "client_credentials"],
      redirect_uris: "https://app.example/cb",
      scope: "openid profile",
    });
    expect(response.status).toBe(303);
    const row = await env.DB.prepare(
      "SELECT client_name, scope, par_request_lifetime FROM clients WHERE client_id = 'editable'",
    ).first();
    // What the form does not show (par_request_lifetime) is kept.
    expect(row).toEqual({ client_name: "Edited", scope: "openid profile", par_request_lifetime: 30 });
    const token = await postForm(
      "/token",
      { grant_type: "client_credentials" },
      basic("editable", reg.client_secret ?? ""),
    );
    expect(token.status).toBe(200);
    expect((await auditRows("editable")).map((r) => r.action)).toEqual(["client.update"]);
  });

  it("a disabled client is refused at the token endpoint (invalid_client) until enabled", async () => {
    const reg = await registerClient({ client_id: "to-disable" });
    const token = () =>
      postForm("/token", { grant_type: "client_credentials" }, basic("to-disable", reg.client_secret ?? ""));
    const csrf = await csrfOf("/admin/clients/to-disable");
    expect((await admin.browser.post("/admin/clients/to-disable/disable", { csrf, disabled: "true" })).status).toBe(
      303,
    );
    expect(((await (await token()).json()) as { error: string }).error).toBe("invalid_client");
    expect((await admin.browser.post("/admin/clients/to-disable/disable", { csrf, disabled: "false" })).status).toBe(
      303,
    );
    expect((await token()).status).toBe(200);
    expect((await auditRows("to-disable")).map((r) => r.action)).toEqual(["client.disable", "client.enable"]);
  });

  it("removing a client asks for the admin's password again", async () => {
    await registerClient({ client_id: "to-remove" });
    const csrf = await csrfOf("/admin/clients/to-remove");
    const wrong = await admin.browser.post("/admin/clients/to-remove/remove", { csrf, password: "not-it" });
    expect(wrong.status).toBe(401);
    expect(await env.DB.prepare("SELECT 1 FROM clients WHERE client_id = 'to-remove'").first()).not.toBeNull();
    const right = await admin.browser.post("/admin/clients/to-remove/remove", {
      csrf,
      password: `${admin.username}-password`,
    });
    expect(right.status).toBe(200);
    expect(await env.DB.prepare("SELECT 1 FROM clients WHERE client_id = 'to-remove'").first()).toBeNull();
    expect(await auditRows("to-remove")).toEqual([{ actor: admin.sub, action: "client.remove", target: "to-remove" }]);
  });

  it("the audit page lists the changes", async () => {
    const html = await (await admin.browser.get("/admin/audit")).text();
    expect(html).toContain("client.remove");
    expect(html).toContain("to-remove");
  });
});
