/**
 * Issue 17's "done when", in Chromium against `wrangler dev` (test/e2e/global-setup.ts): the
 * SimpleIdServer tutorial's steps 1 and 2 in the console, then its consumption device.
 * 1. As the dev seed's admin, import the CA the local mTLS proxy trusts (.dev-certs-style CA made
 *    for this run), issue CN=client from it and download it as PEM and as .pfx.
 * 2. Add a client from the CIBA device (FAPI-CIBA) template with subject CN=client.
 * 3. The device sends a signed backchannel request through the mTLS proxy presenting the
 *    downloaded .pfx, alice approves on her phone, and the device gets certificate-bound tokens
 *    presenting the downloaded PEM.
 * Screenshots of the console on a laptop-sized screen go to docs/screenshots/ (see ciba-user.e2e.ts).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { Server } from "node:https";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt, exportJWK, generateKeyPair, SignJWT } from "jose";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, inject, test } from "vitest";
import { type DevCertificates, ensureDevCertificates } from "../../scripts/lib/dev-certs.ts";
import { DEV_ADMIN, DEV_USERS } from "../../scripts/lib/dev-seed.ts";
import { startMtlsProxy } from "../../scripts/lib/mtls-proxy.ts";
import { PROJECT_ROOT } from "../../scripts/lib/wrangler.ts";
import { launchChromium, phoneContext, randomBindingMessage, signInThroughCibaList } from "./helpers.ts";

const issuer = inject("e2eIssuer");
const dataEncryptionKey = inject("e2eDataEncryptionKey");
const E2E_RESULTS_DIR = join(PROJECT_ROOT, "test-results", "e2e");
const DOCS_SCREENSHOTS_DIR = join(PROJECT_ROOT, "docs", "screenshots");
const CLIENT_ID = "cibaConformance";

let workDir: string;
let certs: DevCertificates;
let proxy: Server;
let proxyOrigin: string;
let browser: Browser;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), "edge-op-e2e-console-"));
  certs = await ensureDevCertificates(join(workDir, "certs"));
  proxy = await startMtlsProxy({
    cert: readFileSync(certs.server.cert, "utf8"),
    key: readFileSync(certs.server.key, "utf8"),
    ca: readFileSync(certs.ca.cert, "utf8"),
    target: new URL(issuer),
    dataEncryptionKey,
    port: 0,
  });
  proxyOrigin = `https://localhost:${(proxy.address() as AddressInfo).port}`;
  browser = await launchChromium();
});

afterAll(async () => {
  await Promise.all(contexts.map((context) => context.close()));
  await browser?.close();
  proxy?.close();
  proxy?.closeAllConnections();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

async function laptopPage(): Promise<Page> {
  const context = await browser.newContext({
    viewport: { width: 1366, height: 768 },
    colorScheme: "light",
    locale: "en-US",
    acceptDownloads: true,
  });
  context.setDefaultTimeout(15_000);
  contexts.push(context);
  return context.newPage();
}

/** Clicks a download link and returns the file's name and bytes. */
async function download(page: Page, selector: string): Promise<{ name: string; bytes: Buffer }> {
  const [file] = await Promise.all([page.waitForEvent("download"), page.click(selector)]);
  const path = join(workDir, file.suggestedFilename());
  await file.saveAs(path);
  return { name: file.suggestedFilename(), bytes: readFileSync(path) };
}

type TlsCredentials = { pfx: Buffer; passphrase: string } | { cert: string; key: string };

/** A form POST through the mTLS proxy presenting a client certificate (fetch cannot). */
function postViaProxy(path: string, form: Record<string, string>, credentials: TlsCredentials) {
  return new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
    const req = httpsRequest(
      `${proxyOrigin}${path}`,
      {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        ca: readFileSync(certs.ca.cert),
        ...credentials,
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || "{}") }));
      },
    );
    req.on("error", reject);
    req.end(new URLSearchParams(form).toString());
  });
}

async function saveScreenshot(page: Page, name: string): Promise<void> {
  const png = await page.screenshot({ fullPage: true, animations: "disabled", caret: "hide" });
  expect(png.subarray(1, 4).toString("latin1")).toBe("PNG");
  mkdirSync(E2E_RESULTS_DIR, { recursive: true });
  writeFileSync(join(E2E_RESULTS_DIR, name), png);
  const docsPath = join(DOCS_SCREENSHOTS_DIR, name);
  if (process.env.UPDATE_SCREENSHOTS === "1" || !existsSync(docsPath)) {
    mkdirSync(DOCS_SCREENSHOTS_DIR, { recursive: true });
    writeFileSync(docsPath, png);
  }
}

describe("the tutorial in the console, then a CIBA flow with the downloaded certificate", () => {
  test("import the proxy's CA, issue and download CN=client, add a FAPI-CIBA device client, get tokens over mTLS", async () => {
    const page = await laptopPage();
    // Sign in as the seed's admin, coming back to the console.
    await page.goto(`${issuer}/signin?return_to=/admin`);
    await page.getByLabel("Username").fill(DEV_ADMIN.username);
    await page.getByLabel("Password").fill(DEV_ADMIN.password);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.waitForURL(`${issuer}/admin`);
    await saveScreenshot(page, "admin-overview-laptop.png");

    // Step 1: the certificate authority (the one the proxy trusts) and CN=client.
    await page.getByRole("link", { name: "Certificate authorities", exact: true }).click();
    await page.fill("#import-name", "Local dev CA");
    await page.fill("#import-certificate", readFileSync(certs.ca.cert, "utf8"));
    await page.fill("#import-key", readFileSync(certs.ca.key, "utf8"));
    await page.fill("#reauth-password", DEV_ADMIN.password);
    await page.getByRole("button", { name: "Import" }).click();
    await page.waitForURL((url) => /^\/admin\/cas\/[A-Za-z0-9_-]+$/.test(url.pathname));
    await expect(page.getByRole("heading", { level: 1 }).textContent()).resolves.toBe("Local dev CA");

    await page.getByRole("link", { name: "Add client certificate" }).click();
    await expect(page.inputValue("#cert-subject")).resolves.toBe("CN=client");
    await saveScreenshot(page, "admin-certificates-laptop.png");
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await page.getByRole("heading", { level: 1, name: "Certificate issued" }).waitFor();
    const pfxPassword = ((await page.textContent("#pfx-password")) ?? "").trim();
    const pem = await download(page, "#download-pem");
    const pfx = await download(page, "#download-pfx");
    expect(pem.name).toBe("CN=client.pem");
    expect(pfx.name).toBe("CN=client.pfx");
    const pemText = pem.bytes.toString("utf8");
    expect(pemText).toContain("-----BEGIN CERTIFICATE-----");
    expect(pemText).toContain("-----BEGIN PRIVATE KEY-----");
    await saveScreenshot(page, "admin-certificate-issued-laptop.png");

    // Step 2: a client from the CIBA device (FAPI-CIBA) template with subject CN=client. FAPI-CIBA
    // clients sign their requests, so the device registers its signing key.
    const signing = await generateKeyPair("ES256");
    const kid = "device-signing-1";
    const jwk = { ...(await exportJWK(signing.publicKey)), kid, alg: "ES256", use: "sig" };
    await page.getByRole("link", { name: "Add a client with this subject" }).click();
    await expect(page.inputValue("#tls_client_auth_subject_dn")).resolves.toBe("CN=client");
    await expect(page.inputValue("#token_endpoint_auth_method")).resolves.toBe("tls_client_auth");
    await page.fill("#client_id", CLIENT_ID);
    await page.fill("#client_name", "Tutorial console app");
    await page.fill("#jwks", JSON.stringify({ keys: [jwk] }));
    await page.selectOption("#backchannel_authentication_request_signing_alg", "ES256");
    await saveScreenshot(page, "admin-client-form-laptop.png");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("heading", { level: 1, name: CLIENT_ID }).waitFor();

    // The consumption device: a signed request through the proxy, presenting the .pfx.
    const bindingMessage = randomBindingMessage("Tutorial");
    const request = await new SignJWT({ login_hint: "alice", scope: "openid profile", binding_message: bindingMessage })
      .setProtectedHeader({ alg: "ES256", kid })
      .setIssuer(CLIENT_ID)
      .setAudience(issuer)
      .setIssuedAt()
      .setNotBefore("0s")
      .setExpirationTime("5m")
      .setJti(crypto.randomUUID())
      .sign(signing.privateKey);
    const started = await postViaProxy(
      "/bc-authorize",
      { client_id: CLIENT_ID, request },
      { pfx: pfx.bytes, passphrase: pfxPassword },
    );
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    const authReqId = String(started.body.auth_req_id);

    // alice approves on her phone.
    const alice = DEV_USERS.find((u) => u.username === "alice");
    if (!alice) throw new Error("the dev seed has no alice");
    const phone = await phoneContext(browser);
    contexts.push(phone);
    const phonePage = await phone.newPage();
    await signInThroughCibaList(phonePage, issuer, alice.username, alice.password);
    await phonePage.getByRole("link").filter({ hasText: bindingMessage }).click();
    await phonePage.getByRole("button", { name: "Approve" }).click();
    await phonePage.getByRole("heading", { level: 1, name: "Approved", exact: true }).waitFor();

    // The token request, presenting the PEM download (certificate + key).
    const certificatePem = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/.exec(pemText)?.[0] ?? "";
    const keyPem = /-----BEGIN PRIVATE KEY-----[^-]+-----END PRIVATE KEY-----/.exec(pemText)?.[0] ?? "";
    const tokens = await postViaProxy(
      "/token",
      { grant_type: "urn:openid:params:grant-type:ciba", auth_req_id: authReqId, client_id: CLIENT_ID },
      { cert: certificatePem, key: keyPem },
    );
    expect(tokens.status, JSON.stringify(tokens.body)).toBe(200);
    const accessToken = decodeJwt(String(tokens.body.access_token));
    expect(accessToken.client_id ?? accessToken.azp ?? accessToken.aud).toBeTruthy();
    expect((accessToken.cnf as Record<string, string> | undefined)?.["x5t#S256"]).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(decodeJwt(String(tokens.body.id_token)).sub).toBe(alice.sub);

    // Every change is in the audit log.
    await page.goto(`${issuer}/admin/audit`);
    const audit = (await page.textContent("main")) ?? "";
    for (const action of ["ca.import", "certificate.issue", "client.create"]) expect(audit).toContain(action);
    await saveScreenshot(page, "admin-audit-laptop.png");
  });
});
