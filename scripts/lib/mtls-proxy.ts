/**
 * The local mTLS front: what Cloudflare's edge does for a hostname with client certificates
 * enabled, for `wrangler dev`, which cannot ask for a client certificate itself.
 *
 * An https server (node:https) that asks every client for a certificate (requestCert) but lets
 * the connection through without one or with one it cannot verify (rejectUnauthorized: false),
 * like an mTLS hostname without a blocking WAF rule. Each request is forwarded to the wrangler
 * dev server with the RFC 9440 header the Worker reads when TRUST_CLIENT_CERT_HEADER=true
 * (src/mtls/client-certificate.ts):
 *
 *   Client-Cert: :<base64 DER of the leaf>:
 *   Client-Cert-Verified: SUCCESS                 (chains to the dev CA)
 *                         FAILED:<OpenSSL reason> (e.g. a self-signed certificate)
 *   Edge-Op-Client-Cert-Proof: <HMAC over both, keyed from the Worker's DATA_ENCRYPTION_KEY>
 *
 * and no Client-Cert headers at all when the client sent no certificate. The proof is what
 * makes the Worker believe the headers: a client that talks to wrangler dev directly, past the
 * proxy, cannot make it. Client-Cert, Client-Cert-Chain, Client-Cert-Verified and the proof
 * sent by the client are always removed, and so is every `MF-*` header (the local runtime's
 * own: `MF-CF-Blob` would fill in `request.cf`), so nobody can claim a certificate through the
 * proxy. Method, path, body and the other headers (Host included) pass through unchanged,
 * X-Forwarded-For/-Proto/-Host are set, the response is streamed back as it is (Set-Cookie,
 * redirects: a 3xx is returned, never followed).
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { TLSSocket } from "node:tls";
import { CLIENT_CERT_PROOF_HEADER, clientCertHeaderProof } from "../../src/mtls/client-certificate.ts";

/** Headers only the proxy may set. */
const CLIENT_CERT_HEADERS = new Set([
  "client-cert",
  "client-cert-chain",
  "client-cert-verified",
  CLIENT_CERT_PROOF_HEADER,
]);
/** The local runtime's control headers (MF-CF-Blob sets request.cf): never from a client. */
const RUNTIME_HEADER_PREFIX = "mf-";
const FORWARDED_HEADERS = new Set(["x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"]);
/** RFC 9110 §7.6.1 hop-by-hop headers: about this connection, not forwarded. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

export interface MtlsProxyOptions {
  /** PEM: the proxy's server certificate and key. */
  cert: string;
  key: string;
  /** PEM: the CA(s) a client certificate must chain to for `Client-Cert-Verified: SUCCESS`. */
  ca: string;
  /** Where requests go, e.g. http://127.0.0.1:8787 (wrangler dev). */
  target: URL;
  /** The Worker's DATA_ENCRYPTION_KEY (from .dev.vars): keys the proof the Worker checks. */
  dataEncryptionKey: string;
  host?: string;
  port?: number;
  /** One line per request; default: none. */
  log?: (line: string) => void;
}

export interface CertificateHeaders {
  "client-cert"?: string;
  "client-cert-verified"?: string;
  [CLIENT_CERT_PROOF_HEADER]?: string;
}

/** Node names verification failures by code; Cloudflare reports OpenSSL's words, as here. */
const VERIFY_ERRORS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: "self signed certificate",
  SELF_SIGNED_CERT_IN_CHAIN: "self signed certificate in certificate chain",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "unable to get local issuer certificate",
  UNABLE_TO_GET_ISSUER_CERT: "unable to get issuer certificate",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "unable to verify the first certificate",
  CERT_HAS_EXPIRED: "certificate has expired",
  CERT_NOT_YET_VALID: "certificate is not yet valid",
  CERT_SIGNATURE_FAILURE: "certificate signature failure",
  INVALID_PURPOSE: "unsupported certificate purpose",
};

/** What the proxy tells the Worker about this connection's client certificate, with its proof. */
export async function certificateHeaders(socket: TLSSocket, dataEncryptionKey: string): Promise<CertificateHeaders> {
  const peer = socket.getPeerCertificate(false);
  if (!peer?.raw || peer.raw.length === 0) return {};
  const code = String(socket.authorizationError ?? "unknown");
  const verified = socket.authorized
    ? "SUCCESS"
    : `FAILED:${(VERIFY_ERRORS[code] ?? code).replace(/[^\x20-\x7e]/g, " ")}`;
  const cert = `:${peer.raw.toString("base64")}:`;
  return {
    "client-cert": cert,
    "client-cert-verified": verified,
    [CLIENT_CERT_PROOF_HEADER]: await clientCertHeaderProof(dataEncryptionKey, cert, verified),
  };
}

/** Names listed in a Connection header are hop-by-hop for this message too. */
function connectionTokens(headers: IncomingHttpHeaders): Set<string> {
  const value = headers.connection;
  return new Set(
    (Array.isArray(value) ? value.join(",") : (value ?? ""))
      .split(",")
      .map((token) => token.trim().toLowerCase())
      .filter(Boolean),
  );
}

/** rawHeaders minus the names in `drop`, as [name, value, name, value, …]. */
function filterRawHeaders(raw: string[], drop: (name: string) => boolean): string[] {
  const kept: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    if (!drop(name.toLowerCase())) kept.push(name, raw[i + 1] as string);
  }
  return kept;
}

async function forward(req: IncomingMessage, res: ServerResponse, options: MtlsProxyOptions): Promise<void> {
  const socket = req.socket as TLSSocket;
  const cert = await certificateHeaders(socket, options.dataEncryptionKey);
  const listed = connectionTokens(req.headers);
  const headers = filterRawHeaders(
    req.rawHeaders,
    (name) =>
      CLIENT_CERT_HEADERS.has(name) ||
      name.startsWith(RUNTIME_HEADER_PREFIX) ||
      FORWARDED_HEADERS.has(name) ||
      HOP_BY_HOP.has(name) ||
      listed.has(name),
  );
  for (const [name, value] of Object.entries(cert)) headers.push(name, value);
  headers.push("X-Forwarded-For", socket.remoteAddress ?? "", "X-Forwarded-Proto", "https");
  if (req.headers.host) headers.push("X-Forwarded-Host", req.headers.host);

  const started = performance.now();
  const upstream = httpRequest(
    {
      protocol: options.target.protocol,
      hostname: options.target.hostname,
      port: options.target.port,
      method: req.method,
      path: req.url,
      headers,
    },
    (upstreamRes) => {
      const dropped = connectionTokens(upstreamRes.headers);
      const responseHeaders = filterRawHeaders(
        upstreamRes.rawHeaders,
        (name) => HOP_BY_HOP.has(name) || dropped.has(name),
      );
      res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, responseHeaders);
      upstreamRes.pipe(res);
      upstreamRes.on("end", () => {
        const who = cert["client-cert"]
          ? `certificate ${socket.getPeerCertificate(false).subject?.CN ?? "(no CN)"}, ${cert["client-cert-verified"]}`
          : "no certificate";
        options.log?.(
          `${req.method} ${req.url} -> ${upstreamRes.statusCode} (${who}, ${Math.round(performance.now() - started)} ms)`,
        );
      });
    },
  );
  upstream.on("error", (error) => {
    options.log?.(`${req.method} ${req.url} -> 502: ${options.target.origin} unreachable (${error.message})`);
    if (!res.headersSent) {
      res.writeHead(502, { "content-type": "text/plain; charset=utf-8" });
      res.end(`Bad gateway: ${options.target.origin} is not answering. Is wrangler dev running?\n`);
    } else {
      res.destroy(error);
    }
  });
  // A client that goes away mid-request takes the upstream request with it.
  res.on("close", () => {
    if (!res.writableFinished) upstream.destroy();
  });
  req.pipe(upstream);
}

/** Starts the proxy; resolves once it listens. */
export function startMtlsProxy(options: MtlsProxyOptions): Promise<Server> {
  const server = createServer(
    {
      cert: options.cert,
      key: options.key,
      ca: options.ca,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: "TLSv1.2",
    },
    (req, res) => {
      forward(req, res, options).catch((error: unknown) => {
        options.log?.(`${req.method} ${req.url} -> 502: ${error instanceof Error ? error.message : String(error)}`);
        if (!res.headersSent) res.writeHead(502).end();
        else res.destroy();
      });
    },
  );
  server.on("tlsClientError", (error) => options.log?.(`TLS handshake failed: ${error.message}`));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8443, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}
