/**
 * Certificates on disk, for local mTLS (`npm start -- --mtls`, `npm run admin -- certs …`).
 * A certificate folder holds `cert.pem` and `key.pem` (PKCS#8, mode 0600), and for a
 * self-signed client certificate also `jwks.json`: the public key as a JWK set, ready for
 * `npm run admin -- client add --auth-method self_signed_tls_client_auth --jwks-file …`.
 */
// @peculiar/x509 needs the Reflect metadata API before it loads (see certificates.ts).
import "reflect-metadata";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";
import { calculateJwkThumbprint, type JWK } from "jose";
import { parseCertificate } from "../../src/mtls/der.ts";
import { type Certificate, generateCertificate } from "./certificates.ts";

const EC_P256 = { name: "ECDSA", namedCurve: "P-256" } as const;

export const CERT_FILE = "cert.pem";
export const KEY_FILE = "key.pem";
export const JWKS_FILE = "jwks.json";

export class CertificateFileError extends Error {
  override name = "CertificateFileError";
}

export interface CertificatePaths {
  dir: string;
  cert: string;
  key: string;
  jwks: string;
}

export function certificatePaths(dir: string): CertificatePaths {
  return { dir, cert: join(dir, CERT_FILE), key: join(dir, KEY_FILE), jwks: join(dir, JWKS_FILE) };
}

function pemBody(pem: string, label: string): Buffer {
  const match = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+)-----END ${label}-----`).exec(pem);
  if (!match?.[1]) throw new CertificateFileError(`no ${label} PEM block`);
  return Buffer.from(match[1].replace(/\s+/g, ""), "base64");
}

/**
 * An RFC 4514 DN as written by people and read by the provider, most specific first
 * ("CN=kiosk-7,O=Example Bank,C=GB"), as the subject string @peculiar/x509 expects, which it
 * encodes in the order written (so "CN=…,O=…,C=…" would otherwise come out as C=…,O=…,CN=…).
 */
export function x509SubjectFromRfc4514(dn: string): string {
  const rdns = new x509.Name(dn).toJSON();
  if (rdns.length === 0)
    throw new CertificateFileError(`"${dn}" is not a distinguished name such as CN=kiosk-7,O=Example`);
  return new x509.Name([...rdns].reverse()).toString();
}

/** Attribute names upper-cased, no spaces around separators: for comparing DNs as written. */
export function normaliseDn(dn: string): string {
  return dn
    .split(/(?<!\\),/)
    .map((rdn) =>
      rdn
        .split(/(?<!\\)\+/)
        .map((ava) => ava.trim().replace(/^([A-Za-z0-9.]+)\s*=\s*/, (_m, type: string) => `${type.toUpperCase()}=`))
        .join("+"),
    )
    .join(",");
}

/** RFC 8705 §3.1: the certificate's SHA-256 thumbprint, as `cnf.x5t#S256` carries it. */
export function x5tS256(derBase64: string): string {
  return createHash("sha256").update(Buffer.from(derBase64, "base64")).digest("base64url");
}

/** The subject DN the provider reads from this certificate (src/mtls/der.ts), for --tls-subject-dn. */
export async function providerSubjectDn(derBase64: string): Promise<string> {
  return (await parseCertificate(new Uint8Array(Buffer.from(derBase64, "base64")))).subjectDn;
}

/**
 * The certificate's public key as a JWK set (`kid`: the RFC 7638 thumbprint; `x5c`: the
 * certificate), what a self_signed_tls_client_auth client registers (RFC 8705 §2.2).
 */
export async function publicJwks(certificate: Certificate): Promise<{ keys: JWK[] }> {
  const { kty, crv, x, y, n, e } = certificate.publicJwk as JWK;
  const members = Object.fromEntries(Object.entries({ kty, crv, x, y, n, e }).filter(([, v]) => v !== undefined));
  const kid = await calculateJwkThumbprint(members as JWK);
  return { keys: [{ ...members, kid, use: "sig", x5c: [certificate.derBase64] }] };
}

/**
 * Writes cert.pem and key.pem (and jwks.json with `withJwks`) into `dir`, creating it. Refuses
 * to overwrite an existing certificate or key unless `overwrite`.
 */
export async function writeCertificateDir(
  dir: string,
  certificate: Certificate,
  options: { withJwks?: boolean; overwrite?: boolean } = {},
): Promise<CertificatePaths> {
  const paths = certificatePaths(dir);
  if (!options.overwrite) {
    const existing = [paths.cert, paths.key, ...(options.withJwks ? [paths.jwks] : [])].filter((p) => existsSync(p));
    if (existing.length > 0) {
      throw new CertificateFileError(`${existing.join(" and ")} already exist; remove them or choose another folder`);
    }
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(paths.cert, certificate.certPem);
  writeFileSync(paths.key, certificate.keyPem, { mode: 0o600 });
  if (options.withJwks) writeFileSync(paths.jwks, `${JSON.stringify(await publicJwks(certificate), null, 2)}\n`);
  return paths;
}

/**
 * Reads a certificate folder back (cert.pem + key.pem), e.g. a CA made by `admin certs ca` or
 * `npm start -- --mtls`, so it can issue more certificates. The key must be ECDSA P-256 PKCS#8.
 */
export async function readCertificateDir(dir: string): Promise<Certificate> {
  const paths = certificatePaths(dir);
  for (const file of [paths.cert, paths.key]) {
    if (!existsSync(file)) throw new CertificateFileError(`${file}: no such file`);
  }
  const certPem = readFileSync(paths.cert, "utf8");
  const keyPem = readFileSync(paths.key, "utf8");
  let certificate: x509.X509Certificate;
  try {
    certificate = new x509.X509Certificate(certPem);
  } catch (error) {
    throw new CertificateFileError(`${paths.cert}: not a PEM certificate (${(error as Error).message})`);
  }
  let privateKey: CryptoKey;
  try {
    privateKey = await crypto.subtle.importKey("pkcs8", pemBody(keyPem, "PRIVATE KEY"), EC_P256, true, ["sign"]);
  } catch {
    throw new CertificateFileError(`${paths.key}: expected an ECDSA P-256 private key in PKCS#8 PEM`);
  }
  const publicKey = await certificate.publicKey.export(EC_P256, ["verify"]);
  return {
    certPem,
    keyPem,
    derBase64: Buffer.from(certificate.rawData).toString("base64"),
    publicJwk: await crypto.subtle.exportKey("jwk", publicKey),
    subject: certificate.subject,
    signer: { certificate, privateKey },
  };
}

/** Whether the certificate in `dir` is readable and still valid `marginDays` from now. */
export function certificateValid(dir: string, marginDays = 1): boolean {
  const { cert, key } = certificatePaths(dir);
  if (!existsSync(cert) || !existsSync(key)) return false;
  try {
    const certificate = new x509.X509Certificate(readFileSync(cert, "utf8"));
    return certificate.notAfter.getTime() > Date.now() + marginDays * 86_400_000;
  } catch {
    return false;
  }
}

/** A local CA (for `admin certs ca` and the dev CA); `subject` in RFC 4514 order. */
export function generateCa(subject: string, days = 3650): Promise<Certificate> {
  return generateCertificate({ subject: x509SubjectFromRfc4514(subject), purpose: "ca", days });
}

/**
 * A TLS server certificate issued by `ca` for the given host names and IP addresses (the local
 * mTLS proxy's https://localhost:8443). scripts/lib/certificates.ts makes client certificates
 * (extendedKeyUsage clientAuth); a server needs serverAuth, or TLS clients refuse it.
 */
export function generateServerCertificate(
  ca: Certificate,
  names: { dns: string[]; ip: string[] },
  days = 365,
): Promise<Certificate> {
  return generateCertificate({
    subject: `CN=${names.dns[0] ?? names.ip[0] ?? "localhost"}`,
    issuer: ca,
    purpose: "server",
    days,
    subjectAltNames: [
      ...names.dns.map((value) => ({ type: "dns" as const, value })),
      ...names.ip.map((value) => ({ type: "ip" as const, value })),
    ],
  });
}
