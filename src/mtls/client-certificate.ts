/**
 * The client certificate of a request (RFC 8705). On Cloudflare the edge terminates TLS and
 * hands the Worker what it saw in `request.cf.tlsClientAuth`: whether a certificate was
 * presented, whether it chained to the zone's mTLS CA (`certVerified === "SUCCESS"`), and the
 * leaf itself (`certRFC9440`, `:base64-DER:`). Locally `wrangler dev` cannot ask for a client
 * certificate, so with TRUST_CLIENT_CERT_HEADER (loopback issuers only) the `Client-Cert` and
 * `Client-Cert-Verified` headers set by the local mTLS proxy (`npm run mtls-proxy`) stand in.
 */
import type { Settings } from "../config";
import { fromBase64url } from "../crypto/encoding";
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

export async function presentedCertificate(
  request: Request,
  settings: Settings,
): Promise<PresentedCertificate | undefined> {
  const source = fromCloudflare(request) ?? (settings.trustClientCertHeader ? fromDevHeaders(request) : undefined);
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

function fromCloudflare(request: Request): { rfc9440: string; verified: boolean } | undefined {
  const auth = (request as { cf?: { tlsClientAuth?: TlsClientAuth } }).cf?.tlsClientAuth;
  if (auth?.certPresented !== "1" || !auth.certRFC9440) return undefined;
  return { rfc9440: auth.certRFC9440, verified: auth.certVerified === "SUCCESS" && auth.certRevoked !== "1" };
}

function fromDevHeaders(request: Request): { rfc9440: string; verified: boolean } | undefined {
  const cert = request.headers.get("client-cert");
  if (!cert) return undefined;
  return { rfc9440: cert, verified: request.headers.get("client-cert-verified") === "SUCCESS" };
}

/** RFC 9440 §2.1: a byte sequence, `:` + base64 + `:`. */
function rfc9440Der(value: string): Uint8Array | undefined {
  const match = /^:([A-Za-z0-9+/]+={0,2}):$/.exec(value.trim());
  if (!match?.[1] || match[1].length > 16_384) return undefined;
  return fromBase64url(match[1].replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""));
}
