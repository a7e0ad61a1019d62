/**
 * Issue 12: client certificates in local development. The local runtime (miniflare, under
 * `wrangler dev` and `npm start`) builds `request.cf` from an `MF-CF-Blob` header that any
 * client can send, so there `request.cf.tlsClientAuth` proves nothing. `npm start` runs with
 * TRUST_CF_TLS_CLIENT_AUTH=false: no certificate authenticates. `npm start -- --mtls` adds
 * TRUST_CLIENT_CERT_HEADER=true: only the certificate the local mTLS proxy passes on counts, in
 * RFC 9440 `Client-Cert` headers that carry the proxy's proof (an HMAC keyed from the Worker's
 * DATA_ENCRYPTION_KEY), so a client that calls wrangler dev directly cannot claim one either.
 * Deployed (the default, TRUST_CF_TLS_CLIENT_AUTH=true), Cloudflare's edge sets request.cf:
 * test/mtls.test.ts covers that.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigurationError, loadSettings } from "../src/config";
import { CLIENT_CERT_PROOF_HEADER, clientCertHeaderProof } from "../src/mtls/client-certificate";
import { registerClient } from "./helpers/fixtures";
import { ISSUER, type Vars } from "./helpers/http";
import { certificates, type TestCertificate, tlsClientAuth } from "./helpers/mtls";
import app from "./worker";

const { kiosk } = certificates;

/** `npm start`: request.cf is not believed. */
const NPM_START: Vars = { TRUST_CF_TLS_CLIENT_AUTH: "false" };
/** `npm start -- --mtls`: and the proxy's Client-Cert header is. */
const NPM_START_MTLS: Vars = { TRUST_CF_TLS_CLIENT_AUTH: "false", TRUST_CLIENT_CERT_HEADER: "true" };

beforeAll(async () => {
  await registerClient({
    client_id: "local-kiosk",
    client_secret: undefined,
    token_endpoint_auth_method: "tls_client_auth",
    tls_client_auth_subject_dn: "CN=kiosk-9,O=Example Bank,C=GB",
    grant_types: ["client_credentials"],
    scope: "api:read",
  });
});

interface Claimed {
  /** request.cf.tlsClientAuth, as a forged MF-CF-Blob header makes the local runtime fill it in. */
  cf?: TestCertificate;
  /** RFC 9440 headers, as the proxy sets them or a client forges them. */
  headers?: Record<string, string>;
}

/** A client_credentials request of local-kiosk, run by the Worker with `vars`. */
async function tokenRequest(vars: Vars, claimed: Claimed): Promise<Response> {
  const init = {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...claimed.headers },
    body: new URLSearchParams({ grant_type: "client_credentials", client_id: "local-kiosk" }).toString(),
    cf: claimed.cf ? { tlsClientAuth: tlsClientAuth(claimed.cf) } : undefined,
  };
  const ctx = createExecutionContext();
  const response = await app.fetch(new Request(`${ISSUER}/token`, init as RequestInit), { ...env, ...vars }, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

async function proxyHeaders(certificate: TestCertificate, verified = "SUCCESS") {
  const cert = `:${certificate.der}:`;
  return {
    "client-cert": cert,
    "client-cert-verified": verified,
    [CLIENT_CERT_PROOF_HEADER]: await clientCertHeaderProof(env.DATA_ENCRYPTION_KEY ?? "", cert, verified),
  };
}

describe("npm start (TRUST_CF_TLS_CLIENT_AUTH=false): no request authenticates with a certificate", () => {
  it("ignores request.cf.tlsClientAuth, which a forged MF-CF-Blob header fills in locally", async () => {
    const response = await tokenRequest(NPM_START, { cf: kiosk });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toBe("invalid_client");
  });

  it("ignores Client-Cert headers, even with a valid proof (TRUST_CLIENT_CERT_HEADER is off)", async () => {
    expect((await tokenRequest(NPM_START, { headers: await proxyHeaders(kiosk) })).status).toBe(401);
  });
});

describe("npm start -- --mtls: only the proxy's certificate authenticates", () => {
  it("accepts the certificate the proxy passes on, with its proof", async () => {
    expect((await tokenRequest(NPM_START_MTLS, { headers: await proxyHeaders(kiosk) })).status).toBe(200);
  });

  it("ignores request.cf.tlsClientAuth (a forged MF-CF-Blob header)", async () => {
    expect((await tokenRequest(NPM_START_MTLS, { cf: kiosk })).status).toBe(401);
  });

  it("ignores Client-Cert headers sent straight to wrangler dev, without the proxy's proof", async () => {
    const cert = `:${kiosk.der}:`;
    const attempts: Record<string, string>[] = [
      { "client-cert": cert, "client-cert-verified": "SUCCESS" },
      { "client-cert": cert, "client-cert-verified": "SUCCESS", [CLIENT_CERT_PROOF_HEADER]: "forged" },
      { "client-cert": cert, "client-cert-verified": "SUCCESS", [CLIENT_CERT_PROOF_HEADER]: "" },
    ];
    for (const headers of attempts) {
      expect((await tokenRequest(NPM_START_MTLS, { headers })).status, JSON.stringify(headers)).toBe(401);
    }
  });

  it("binds the proof to the headers: another certificate or verdict with a copied proof is refused", async () => {
    const genuine = await proxyHeaders(kiosk, "FAILED:self signed certificate");
    // The proxy said FAILED; a client that copies the proof cannot turn it into SUCCESS.
    expect(
      (await tokenRequest(NPM_START_MTLS, { headers: { ...genuine, "client-cert-verified": "SUCCESS" } })).status,
    ).toBe(401);
    const other = await proxyHeaders(certificates.other);
    expect(
      (await tokenRequest(NPM_START_MTLS, { headers: { ...other, "client-cert": `:${kiosk.der}:` } })).status,
    ).toBe(401);
  });
});

describe("settings", () => {
  it("refuse TRUST_CLIENT_CERT_HEADER=true while request.cf is believed: locally it can be forged", () => {
    expect(() => loadSettings({ ...env, TRUST_CLIENT_CERT_HEADER: "true" })).toThrow(ConfigurationError);
    expect(() => loadSettings({ ...env, ...NPM_START_MTLS }).trustClientCertHeader).not.toThrow();
  });

  it("believe request.cf by default, as a deployment must", () => {
    expect(loadSettings(env).trustCfTlsClientAuth).toBe(true);
  });
});
