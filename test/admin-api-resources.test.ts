/**
 * The console's JSON API for users, certificates and signing keys (issue 17): the functions the
 * pages use, the same audit rows, no secret in an answer except where the page shows it once
 * (an issued certificate's key), and the password again for an admin's session where the page
 * asks for it (importing a CA, revoking a certificate).
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { Browser } from "./helpers/browser";
import { registerClient, registerUser } from "./helpers/fixtures";
import { call } from "./helpers/http";
import { operatorToken } from "./helpers/operator";

let token = "";

beforeAll(async () => {
  token = await operatorToken("resources-operator");
});

function api(path: string, body?: unknown): Promise<Response> {
  return call(path, {
    method: body === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function auditOf(target: string): Promise<unknown[]> {
  const { results } = await env.DB.prepare("SELECT actor, action FROM admin_audit WHERE target = ? ORDER BY id")
    .bind(target)
    .all();
  return results.map((row) => `${row.actor} ${row.action}`);
}

describe("users through the API", () => {
  it("adds a user (400 names the field), sets a user_code, disables and enables, each audited as the operator", async () => {
    const weak = await api("/admin/api/users", { username: "api-ursula", password: "short" });
    expect(weak.status).toBe(400);
    expect(await weak.json()).toMatchObject({ error: "invalid_request", field: "password" });

    const created = await api("/admin/api/users", { username: "api-ursula", password: "api-ursula-password" });
    expect(created.status).toBe(201);
    const user = (await created.json()) as { sub: string; username: string; disabled_at: number | null };
    expect(user).toMatchObject({ username: "api-ursula", disabled_at: null });
    expect(JSON.stringify(user)).not.toMatch(/password/);

    expect((await api(`/admin/api/users/${user.sub}/user-code`, { user_code: "ursula-code-9" })).status).toBe(204);
    const shown = await (await api(`/admin/api/users/${user.sub}`)).json();
    expect(shown).toMatchObject({ has_user_code: "yes", pending_requests: [] });
    expect(JSON.stringify(shown)).not.toContain("ursula-code-9");

    const disabled = await api(`/admin/api/users/${user.sub}/disable`, { disabled: true });
    expect(disabled.status).toBe(200);
    expect(((await disabled.json()) as { disabled_at: number | null }).disabled_at).toBeGreaterThan(0);
    expect((await new Browser().signIn("api-ursula", "api-ursula-password")).status).toBe(401);
    expect((await api(`/admin/api/users/${user.sub}/disable`, { disabled: "yes" })).status).toBe(400);
    expect((await api(`/admin/api/users/${user.sub}/disable`, { disabled: false })).status).toBe(200);
    expect((await new Browser().signIn("api-ursula", "api-ursula-password")).status).toBe(303);

    expect(await auditOf(user.sub)).toEqual([
      "client:resources-operator user.create",
      "client:resources-operator user.set_user_code",
      "client:resources-operator user.disable",
      "client:resources-operator user.enable",
    ]);
    expect((await api("/admin/api/users?q=api-ursula").then((r) => r.json())) as unknown).toMatchObject({
      users: [{ sub: user.sub }],
    });
    expect((await api("/admin/api/users/no-such-sub")).status).toBe(404);
  });
});

describe("certificates through the API", () => {
  it("creates a CA (its key never in an answer), issues CN=api-device once with its key, attaches it and revokes it", async () => {
    const badSubject = await api("/admin/api/cas", { name: "Bad", subject: "not a DN", days: 365 });
    expect(badSubject.status).toBe(400);
    expect(await badSubject.json()).toMatchObject({ field: "subject" });

    const created = await api("/admin/api/cas", { name: "API devices", subject: "CN=API Device CA", days: 365 });
    expect(created.status).toBe(201);
    const ca = (await created.json()) as Record<string, unknown>;
    expect(ca).toMatchObject({ name: "API devices", subject_dn: "CN=API Device CA", origin: "created" });
    expect(ca).not.toHaveProperty("private_key_encrypted");
    const listed = await (await api("/admin/api/cas")).text();
    expect(listed).toContain(String(ca.id));
    expect(listed).not.toContain("private_key");

    const issuedResponse = await api("/admin/api/certificates", {
      ca_id: ca.id,
      subject: "CN=api-device",
      days: 90,
      key_algorithm: "P-256",
    });
    expect(issuedResponse.status).toBe(201);
    const issued = (await issuedResponse.json()) as {
      id: string;
      private_key_pem: string;
      pkcs12_base64: string;
      pkcs12_password: string;
    };
    expect(issued.private_key_pem).toContain("-----BEGIN PRIVATE KEY-----");
    expect(issued.pkcs12_base64.length).toBeGreaterThan(100);
    expect(issued.pkcs12_password.length).toBeGreaterThan(8);
    // Shown once: reading it back has the certificate, not the key.
    const again = await (await api(`/admin/api/certificates/${issued.id}`)).text();
    expect(again).toContain("CN=api-device");
    expect(again).not.toContain("PRIVATE KEY");
    expect(again).not.toContain(issued.pkcs12_password);

    await registerClient({
      client_id: "api-tls-device",
      client_secret: undefined,
      token_endpoint_auth_method: "tls_client_auth",
      tls_client_auth_subject_dn: "CN=someone-else",
    });
    expect((await api(`/admin/api/certificates/${issued.id}/attach`, { client_id: "nobody" })).status).toBe(400);
    const attached = await api(`/admin/api/certificates/${issued.id}/attach`, { client_id: "api-tls-device" });
    expect(attached.status).toBe(200);
    const dn = () =>
      env.DB.prepare("SELECT tls_client_auth_subject_dn AS dn FROM clients WHERE client_id = 'api-tls-device'").first();
    expect(await dn()).toEqual({ dn: "CN=api-device" });

    const revoked = await api(`/admin/api/certificates/${issued.id}/revoke`, {});
    expect(revoked.status).toBe(200);
    expect(((await revoked.json()) as { revoked_at: number | null }).revoked_at).toBeGreaterThan(0);
    expect(await dn()).toEqual({ dn: null });
    expect(await auditOf(issued.id)).toEqual([
      "client:resources-operator certificate.issue",
      "client:resources-operator certificate.attach",
      "client:resources-operator certificate.revoke",
    ]);
  });

  it("with an admin's session, revoking asks for the password again (401 without it)", async () => {
    const username = `res-admin-${crypto.randomUUID().slice(0, 8)}`;
    const sub = await registerUser({ username, password: `${username}-password` });
    await env.DB.prepare("INSERT INTO admin_roles (sub, granted_at) VALUES (?, 0)").bind(sub).run();
    const browser = new Browser();
    expect((await browser.signIn(username, `${username}-password`, "/admin")).status).toBe(303);
    const csrf = Browser.csrfOf(await (await browser.get("/admin")).text());
    // The CA outlives the certificate by days: with the same `days`, a clock second ticking
    // between the two calls made the certificate outlive its CA by a second, which is refused.
    const caResponse = await api("/admin/api/cas", { name: "S", subject: "CN=Session CA", days: 60 });
    expect(caResponse.status).toBe(201);
    const ca = (await caResponse.json()) as { id: string };
    const issuedResponse = await api("/admin/api/certificates", {
      ca_id: ca.id,
      subject: "CN=session-device",
      days: 30,
    });
    expect(issuedResponse.status).toBe(201);
    const issued = (await issuedResponse.json()) as { id: string };
    const revoke = (body: unknown) =>
      browser.send(`/admin/api/certificates/${issued.id}/revoke`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-csrf-token": csrf },
        body: JSON.stringify(body),
      });
    expect((await revoke({})).status).toBe(401);
    expect((await revoke({ password: "wrong" })).status).toBe(401);
    expect((await revoke({ password: `${username}-password` })).status).toBe(200);
  });
});

describe("signing keys through the API", () => {
  it("lists the keys of SIGNING_KEYS, the first signing, with public JWKs only", async () => {
    const response = await api("/admin/api/keys");
    expect(response.status).toBe(200);
    const { keys } = (await response.json()) as { keys: { kid: string; signs: boolean; public_jwk: object }[] };
    const first = JSON.parse(env.SIGNING_KEYS ?? "{}").keys[0].kid as string;
    expect(keys[0]).toMatchObject({ kid: first, signs: true });
    expect(keys.filter((key) => key.signs)).toHaveLength(1);
    for (const key of keys) expect(key.public_jwk).not.toHaveProperty("d");
  });
});
