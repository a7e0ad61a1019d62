/**
 * Issue 12, against the real local runtime: `wrangler dev` run as `npm start -- --mtls` runs it
 * (test/e2e/global-setup.ts), with the local mTLS proxy (scripts/lib/mtls-proxy.ts) in front.
 * The local runtime builds `request.cf` from an `MF-CF-Blob` header that any client can send;
 * a client certificate claimed that way, or in `Client-Cert` headers sent past the proxy, must
 * authenticate nobody. Only a certificate presented to the proxy over TLS does.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttpServer, type IncomingHttpHeaders } from "node:http";
import type { Server } from "node:https";
import { request as httpsRequest } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { type DevCertificates, ensureDevCertificates } from "../../scripts/lib/dev-certs.ts";
import { DEMO_CIBA_MTLS_CLIENT } from "../../scripts/lib/dev-seed.ts";
import { startMtlsProxy } from "../../scripts/lib/mtls-proxy.ts";

const issuer = inject("e2eIssuer");
const dataEncryptionKey = inject("e2eDataEncryptionKey");

let certsDir: string;
let certs: DevCertificates;
let proxy: Server;
let proxyOrigin: string;
/** The demo client's certificate as RFC 9440 and request.cf carry it: `:base64 DER:`. */
let clientCertRfc9440: string;

beforeAll(async () => {
  certsDir = mkdtempSync(join(tmpdir(), "edge-op-e2e-certs-"));
  certs = await ensureDevCertificates(certsDir);
  const pem = readFileSync(certs.client.cert, "utf8");
  clientCertRfc9440 = `:${pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "")}:`;
  proxy = await startMtlsProxy({
    cert: readFileSync(certs.server.cert, "utf8"),
    key: readFileSync(certs.server.key, "utf8"),
    ca: readFileSync(certs.ca.cert, "utf8"),
    target: new URL(issuer),
    dataEncryptionKey,
    port: 0,
  });
  proxyOrigin = `https://localhost:${(proxy.address() as AddressInfo).port}`;
});

afterAll(() => {
  proxy?.close();
  proxy?.closeAllConnections();
  if (certsDir) rmSync(certsDir, { recursive: true, force: true });
});

/** A backchannel authentication request of the seeded tls_client_auth client (no secret). */
const BACKCHANNEL_FORM = new URLSearchParams({
  client_id: DEMO_CIBA_MTLS_CLIENT.client_id,
  login_hint: "alice",
  scope: "openid",
}).toString();

const FORM = { "content-type": "application/x-www-form-urlencoded" };

/** What a forged MF-CF-Blob claims: the demo client's own certificate, verified by the edge. */
function forgedCfBlob(): string {
  return JSON.stringify({
    tlsClientAuth: { certPresented: "1", certVerified: "SUCCESS", certRevoked: "0", certRFC9440: clientCertRfc9440 },
  });
}

/** POST through a proxy (node:https: fetch cannot present a client certificate). */
function viaProxy(path: string, headers: Record<string, string>, withCertificate: boolean, origin = proxyOrigin) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpsRequest(
      `${origin}${path}`,
      {
        method: "POST",
        headers,
        ca: readFileSync(certs.ca.cert),
        ...(withCertificate ? { cert: readFileSync(certs.client.cert), key: readFileSync(certs.client.key) } : {}),
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end(BACKCHANNEL_FORM);
  });
}

describe("wrangler dev as npm start runs it: a forged certificate authenticates nobody", () => {
  it("a forged MF-CF-Blob header sent to wrangler dev is not a certificate (401 invalid_client)", async () => {
    const response = await fetch(`${issuer}/bc-authorize`, {
      method: "POST",
      headers: { ...FORM, "MF-CF-Blob": forgedCfBlob() },
      body: BACKCHANNEL_FORM,
    });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toBe("invalid_client");
  });

  it("Client-Cert headers sent to wrangler dev directly, past the proxy, are not a certificate", async () => {
    const response = await fetch(`${issuer}/bc-authorize`, {
      method: "POST",
      headers: {
        ...FORM,
        "Client-Cert": clientCertRfc9440,
        "Client-Cert-Verified": "SUCCESS",
        "Edge-Op-Client-Cert-Proof": "forged",
      },
      body: BACKCHANNEL_FORM,
    });
    expect(response.status).toBe(401);
  });
});

describe("the local mTLS proxy in front (npm start -- --mtls)", () => {
  it("passes on the certificate presented over TLS: the tls_client_auth client is authenticated", async () => {
    const { status, body } = await viaProxy("/bc-authorize", FORM, true);
    expect(status, body).toBe(200);
    expect(JSON.parse(body).auth_req_id).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it("strips MF-CF-Blob and Client-Cert headers a client sends without a certificate", async () => {
    const { status } = await viaProxy(
      "/bc-authorize",
      {
        ...FORM,
        "MF-CF-Blob": forgedCfBlob(),
        "Client-Cert": clientCertRfc9440,
        "Client-Cert-Verified": "SUCCESS",
        "Edge-Op-Client-Cert-Proof": "forged",
      },
      false,
    );
    expect(status).toBe(401);
  });
});

describe("the local mTLS proxy's headers (what reaches the Worker)", () => {
  it("drops every MF-* and Client-Cert header a client sends, and adds its own only for a real certificate", async () => {
    // An upstream that records the headers it receives, in place of wrangler dev.
    const seen: IncomingHttpHeaders[] = [];
    const upstream = createHttpServer((req, res) => {
      seen.push(req.headers);
      req.resume();
      res.end("ok");
    });
    await new Promise<void>((done) => upstream.listen(0, "127.0.0.1", done));
    const recording = await startMtlsProxy({
      cert: readFileSync(certs.server.cert, "utf8"),
      key: readFileSync(certs.server.key, "utf8"),
      ca: readFileSync(certs.ca.cert, "utf8"),
      target: new URL(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`),
      dataEncryptionKey,
      port: 0,
    });
    const origin = `https://localhost:${(recording.address() as AddressInfo).port}`;
    const forged = {
      ...FORM,
      "MF-CF-Blob": forgedCfBlob(),
      "MF-Original-URL": "http://elsewhere.example/",
      "Client-Cert": clientCertRfc9440,
      "Client-Cert-Chain": clientCertRfc9440,
      "Client-Cert-Verified": "SUCCESS",
      "Edge-Op-Client-Cert-Proof": "forged",
    };
    try {
      await viaProxy("/bc-authorize", forged, false, origin);
      await viaProxy("/bc-authorize", forged, true, origin);
    } finally {
      recording.close();
      recording.closeAllConnections();
      upstream.close();
    }
    const [without, withCertificate] = seen;
    for (const name of Object.keys(without ?? {})) expect(name).not.toMatch(/^(mf-|client-cert|edge-op-)/);
    expect(Object.keys(withCertificate ?? {}).filter((name) => name.startsWith("mf-"))).toEqual([]);
    expect(withCertificate?.["client-cert"]).toBe(clientCertRfc9440);
    expect(withCertificate?.["client-cert-verified"]).toBe("SUCCESS");
    expect(withCertificate?.["client-cert-chain"]).toBeUndefined();
    expect(withCertificate?.["edge-op-client-cert-proof"]).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });
});
