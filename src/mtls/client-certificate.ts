/**
 * The client certificate of a request (RFC 8705). On Cloudflare the edge terminates TLS and
 * hands the Worker what it saw in `request.cf.tlsClientAuth`: whether a certificate was
 * presented, whether it chained to the zone's mTLS CA (`certVerified === "SUCCESS"`), and the
 * leaf itself (`certRFC9440`, `:base64-DER:`).
 *
 * Locally neither source can be taken at its word. The local runtime (miniflare, under
 * `wrangler dev`) builds `request.cf` from an `MF-CF-Blob` request header that any client can
 * send, so `npm start` runs with TRUST_CF_TLS_CLIENT_AUTH=false. And `wrangler dev` cannot ask
 * for a certificate, so with TRUST_CLIENT_CERT_HEADER the local mTLS proxy
 * (scripts/lib/mtls-proxy.ts) passes it on in the RFC 9440 `Client-Cert` and
 * `Client-Cert-Verified` headers; anyone who reaches wrangler dev directly could send those
 * too, so they count only with the proxy's proof: an HMAC over both, keyed from the
 * DATA_ENCRYPTION_KEY that the proxy reads from the same .dev.vars as the Worker.
 */
import type { Settings } from "../config";
import { derivedSecret } from "../crypto/derived-keys";
import { base64url, fromBase64url, utf8 } from "../crypto/encoding";
import { timingSafeEqual } from "../crypto/hash";
import type { Bindings } from "../env";
import { CertificateParseError, type ParsedCertificate, parseCertificate } from "./der";

export interface PresentedCertificate {
  certificate: ParsedCertificate;
  /** The certificate chained to a trusted CA and is not revoked. */
  verified: boolean;
}

/** The fields of Cloudflare's `request.cf.tlsClientAuth` that this module reads. */
interface TlsClientAuth {
  certPresented?: string;
  certVerified?: string;
  certRevoked?: string;
  certRFC9440?: string;
}

interface Source {
  rfc9440: string;
  verified: boolean;
}

/** Where the local mTLS proxy puts its proof that it, not the client, set the Client-Cert headers. */
export const CLIENT_CERT_PROOF_HEADER = "edge-op-client-cert-proof";

export async function presentedCertificate(
  request: Request,
  settings: Settings,
  env: Pick<Bindings, "DATA_ENCRYPTION_KEY">,
): Promise<PresentedCertificate | undefined> {
  const source =
    (settings.trustCfTlsClientAuth ? fromCloudflare(request) : undefined) ??
    (settings.trustClientCertHeader ? await fromLocalProxy(request, env.DATA_ENCRYPTION_KEY) : undefined);
  if (!source) return undefined;
  const der = rfc9440Der(source.rfc9440);
  if (!der) return undefined;
  try {
    return { certificate: await parseCertificate(der), verified: source.verified };
  } catch (error) {
    if (error instanceof CertificateParseError) return undefined;
    throw error;
  }
}

function fromCloudflare(request: Request): Source | undefined {
  const auth = (request as { cf?: { tlsClientAuth?: TlsClientAuth } }).cf?.tlsClientAuth;
  if (auth?.certPresented !== "1" || !auth.certRFC9440) return undefined;
  return { rfc9440: auth.certRFC9440, verified: auth.certVerified === "SUCCESS" && auth.certRevoked !== "1" };
}

async function fromLocalProxy(request: Request, dataEncryptionKey: string | undefined): Promise<Source | undefined> {
  const cert = request.headers.get("client-cert");
  const verified = request.headers.get("client-cert-verified") ?? "";
  const proof = request.headers.get(CLIENT_CERT_PROOF_HEADER);
  if (!cert || !proof || !dataEncryptionKey) return undefined;
  if (!(await timingSafeEqual(proof, await clientCertHeaderProof(dataEncryptionKey, cert, verified)))) {
    return undefined;
  }
  return { rfc9440: cert, verified: verified === "SUCCESS" };
}

/**
 * The proxy's proof for one request's `Client-Cert` and `Client-Cert-Verified` values:
 * base64url HMAC-SHA256 over both, so a copied proof cannot vouch for another certificate or
 * turn a FAILED verification into SUCCESS. Used by the Worker and by the proxy (Node).
 */
export async function clientCertHeaderProof(dataEncryptionKey: string, cert: string, verified: string) {
  const secret = fromBase64url(await derivedSecret(dataEncryptionKey, "local mtls proxy")) ?? new Uint8Array();
  const key = await crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, utf8.encode(`${cert}\n${verified}`));
  return base64url(new Uint8Array(mac));
}

/** RFC 9440 §2.1: a byte sequence, `:` + base64 + `:`. */
function rfc9440Der(value: string): Uint8Array | undefined {
  const match = /^:([A-Za-z0-9+/]+={0,2}):$/.exec(value.trim());
  if (!match?.[1] || match[1].length > 16_384) return undefined;
  return fromBase64url(match[1].replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""));
}
