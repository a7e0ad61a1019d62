/**
 * The console's certificate pages (issue 17 with src/pki/): a CA created with its key sealed,
 * a CN=client certificate issued and handed out once as PEM and .pfx (no key stored), a
 * tls_client_auth client registered with that subject authenticating with the downloaded
 * certificate (RFC 8705 §2.1), attach by JWK for self_signed_tls_client_auth (§2.2), and
 * revocation removing the binding, each change audited.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { Browser } from "./helpers/browser";
import { registerUser } from "./helpers/fixtures";
import { postFormWithCertificate, type TestCertificate } from "./helpers/mtls";

let browser: Browser;
let username: string;

beforeAll(async () => {
  username = `pki-admin-${crypto.randomUUID().slice(0, 8)}`;
  const sub = await registerUser({ username, password: `${username}-password` });
  await env.DB.prepare("INSERT INTO admin_roles (sub, granted_at) VALUES (?, 0)").bind(sub).run();
  browser = new Browser();
  expect((await browser.signIn(username, `${username}-password`, "/admin")).status).toBe(303);
});

async function csrf(path: string): Promise<string> {
  return Browser.csrfOf(await (await browser.get(path)).text());
}

async function createCa(): Promise<string> {
  const response = await browser.post("/admin/cas", {
    csrf: await csrf("/admin/cas"),
    name: "Test CA",
    subject: "CN=edge-op test client CA,O=Example",
    key_algorithm: "P-256",
    days: "3650",
  });
  expect(response.status).toBe(303);
  return (response.headers.get("location") ?? "").split("/").pop() ?? "";
}

async function issue(caId: string, subject: string) {
  const response = await browser.post("/admin/certificates", {
    csrf: await csrf("/admin/certificates"),
    ca_id: caId,
    subject,
    days: "30",
    key_algorithm: "P-256",
  });
  expect(response.status).toBe(201);
  const html = await response.text();
  const pem = atob(
    /id="download-pem" download="[^"]+" href="data:application\/x-pem-file;base64,([^"]+)"/.exec(html)?.[1] ?? "",
  );
  const pfx =
    /id="download-pfx" download="[^"]+" href="data:application\/x-pkcs12;base64,([^"]+)"/.exec(html)?.[1] ?? "";
  const certificateBase64 =
    /-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/.exec(pem)?.[1]?.replace(/\s/g, "") ?? "";
  const id = /\/admin\/certificates\/([A-Za-z0-9_-]+)\/certificate\.pem/.exec(html)?.[1] ?? "";
  return { html, pem, pfx, certificate: { der: certificateBase64, publicJwk: {} } satisfies TestCertificate, id };
}

async function addTlsClient(clientId: string, subject: string) {
  const response = await browser.post("/admin/clients/new", {
    csrf: await csrf("/admin/clients/new?template=ciba-plain"),
    client_id: clientId,
    token_endpoint_auth_method: "tls_client_auth",
    tls_client_auth_subject_dn: subject,
    grant_types: "client_credentials",
    scope: "openid",
  });
  expect(response.status).toBe(201);
}

describe("certificate authorities and client certificates", () => {
  it("creates a CA whose private key is stored only encrypted, and audits it", async () => {
    const caId = await createCa();
    const row = await env.DB.prepare("SELECT * FROM certificate_authorities WHERE id = ?")
      .bind(caId)
      .first<Record<string, string>>();
    expect(row?.private_key_encrypted).toMatch(/^v1\./);
    expect(JSON.stringify(row)).not.toContain("PRIVATE KEY");
    const page = await browser.get(`/admin/cas/${caId}/certificate.pem`);
    expect(page.headers.get("content-disposition")).toContain("attachment");
    expect(await page.text()).toContain("-----BEGIN CERTIFICATE-----");
    const audit = await env.DB.prepare("SELECT action FROM admin_audit WHERE target = ?").bind(caId).first();
    expect(audit).toEqual({ action: "ca.create" });
  });

  it("shows a bad subject beside its field", async () => {
    const response = await browser.post("/admin/cas", {
      csrf: await csrf("/admin/cas"),
      name: "Broken",
      subject: "not a DN",
      key_algorithm: "P-256",
      days: "10",
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toMatch(/id="ca-subject-error" role="alert">/);
  });

  it("issues CN=client as PEM (certificate + key) and .pfx once, stores no key, and the certificate authenticates a tls_client_auth client registered with its subject", async () => {
    const caId = await createCa();
    const issued = await issue(caId, "CN=client");
    expect(issued.pem).toContain("-----BEGIN PRIVATE KEY-----");
    expect(issued.pfx.length).toBeGreaterThan(500);
    expect(issued.html).toMatch(/id="pfx-password">[A-Za-z0-9_-]{16,}</);
    const row = await env.DB.prepare("SELECT * FROM client_certificates WHERE id = ?").bind(issued.id).first();
    expect(row?.subject_dn).toBe("CN=client");
    expect(JSON.stringify(row)).not.toContain("PRIVATE KEY");

    await addTlsClient("console-mtls", "CN=client");
    const token = await postFormWithCertificate(
      "/token",
      { grant_type: "client_credentials", client_id: "console-mtls" },
      issued.certificate,
    );
    expect(token.status).toBe(200);
  });

  it("attaches by JWK to a self_signed_tls_client_auth client, and revoking (password asked) removes the binding", async () => {
    const caId = await createCa();
    const issued = await issue(caId, "CN=self-signed-device");
    // A self_signed client needs a key to be valid: start it with an unrelated one.
    const placeholder = {
      kty: "EC",
      crv: "P-256",
      x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
      y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
      kid: "old",
    };
    const response = await browser.post("/admin/clients/new", {
      csrf: await csrf("/admin/clients/new?template=machine"),
      client_id: "console-self-signed",
      token_endpoint_auth_method: "self_signed_tls_client_auth",
      jwks: JSON.stringify({ keys: [placeholder] }),
      grant_types: "client_credentials",
      scope: "openid",
    });
    expect(response.status).toBe(201);
    const token = () =>
      postFormWithCertificate(
        "/token",
        { grant_type: "client_credentials", client_id: "console-self-signed" },
        issued.certificate,
        { verified: false },
      );
    expect((await token()).status).toBe(401);

    const attach = await browser.post(`/admin/certificates/${issued.id}/attach`, {
      csrf: await csrf(`/admin/certificates/${issued.id}`),
      client_id: "console-self-signed",
    });
    expect(attach.status).toBe(200);
    expect((await token()).status).toBe(200);

    const pageCsrf = await csrf(`/admin/certificates/${issued.id}`);
    const wrong = await browser.post(`/admin/certificates/${issued.id}/revoke`, { csrf: pageCsrf, password: "nope" });
    expect(wrong.status).toBe(401);
    const revoke = await browser.post(`/admin/certificates/${issued.id}/revoke`, {
      csrf: pageCsrf,
      password: `${username}-password`,
    });
    expect(revoke.status).toBe(200);
    const client = await env.DB.prepare("SELECT jwks FROM clients WHERE client_id = 'console-self-signed'").first<{
      jwks: string;
    }>();
    expect(JSON.parse(client?.jwks ?? "{}").keys.map((k: { kid: string }) => k.kid)).toEqual(["old"]);
    const actions = await env.DB.prepare("SELECT action FROM admin_audit WHERE target = ? ORDER BY id")
      .bind(issued.id)
      .all();
    expect(actions.results.map((r) => r.action)).toEqual([
      "certificate.issue",
      "certificate.attach",
      "certificate.revoke",
    ]);
  });

  it("revoking a certificate a tls_client_auth client is bound to by subject DN clears the DN", async () => {
    const caId = await createCa();
    const issued = await issue(caId, "CN=revoked-kiosk");
    await addTlsClient("console-revoked", "CN=revoked-kiosk");
    await browser.post(`/admin/certificates/${issued.id}/attach`, {
      csrf: await csrf(`/admin/certificates/${issued.id}`),
      client_id: "console-revoked",
    });
    await browser.post(`/admin/certificates/${issued.id}/revoke`, {
      csrf: await csrf(`/admin/certificates/${issued.id}`),
      password: `${username}-password`,
    });
    const row = await env.DB.prepare(
      "SELECT tls_client_auth_subject_dn FROM clients WHERE client_id = 'console-revoked'",
    ).first();
    expect(row).toEqual({ tls_client_auth_subject_dn: null });
  });
});
