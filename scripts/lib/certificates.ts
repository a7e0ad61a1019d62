/**
 * X.509 certificates for local mTLS and tests (@peculiar/x509 over Web Crypto): a local CA,
 * client certificates it issues (tls_client_auth), and self-signed client certificates
 * (self_signed_tls_client_auth). Keys are ECDSA P-256.
 */
// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(globalThis.crypto);

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

export interface SubjectAltName {
  type: "dns" | "url" | "ip" | "email";
  value: string;
}

export interface Certificate {
  /** PEM of the certificate. */
  certPem: string;
  /** PKCS#8 PEM of the private key. */
  keyPem: string;
  /** The certificate, DER, base64 (RFC 9440 wraps it in colons). */
  derBase64: string;
  /** The public key as a JWK, for a client's registered jwks. */
  publicJwk: import("node:crypto").webcrypto.JsonWebKey;
  subject: string;
  /** For issuing further certificates (a CA). */
  signer: { certificate: x509.X509Certificate; privateKey: CryptoKey };
}

export interface CertificateOptions {
  /** RFC 4514 name, e.g. "CN=kiosk-7,O=Example Bank,C=GB". */
  subject: string;
  subjectAltNames?: SubjectAltName[];
  /** Issued by this CA; self-signed without it. */
  issuer?: Certificate;
  /** What the certificate is for: a CA, a TLS client (the default) or a TLS server. */
  purpose?: "ca" | "client" | "server";
  days?: number;
}

export async function generateCertificate(options: CertificateOptions): Promise<Certificate> {
  const keys = (await crypto.subtle.generateKey(ALGORITHM, true, [
    "sign",
    "verify",
  ])) as import("node:crypto").webcrypto.CryptoKeyPair;
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + (options.days ?? 365) * 86_400_000);
  const purpose = options.purpose ?? "client";
  const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(purpose === "ca", undefined, true)];
  if (purpose === "ca") {
    extensions.push(new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true));
  } else {
    // TLS clients refuse a server certificate without serverAuth, and servers a client one without clientAuth.
    extensions.push(new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true));
    const usage = purpose === "server" ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth;
    extensions.push(new x509.ExtendedKeyUsageExtension([usage]));
  }
  if (options.subjectAltNames?.length)
    extensions.push(new x509.SubjectAlternativeNameExtension(options.subjectAltNames));
  const serialNumber = Buffer.from(crypto.getRandomValues(new Uint8Array(8)))
    .toString("hex")
    .replace(/^[89a-f]/, "1");
  const certificate = options.issuer
    ? await x509.X509CertificateGenerator.create({
        serialNumber,
        subject: options.subject,
        issuer: options.issuer.signer.certificate.subject,
        notBefore,
        notAfter,
        signingAlgorithm: ALGORITHM,
        publicKey: keys.publicKey,
        signingKey: options.issuer.signer.privateKey,
        extensions,
      })
    : await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber,
        name: options.subject,
        notBefore,
        notAfter,
        signingAlgorithm: ALGORITHM,
        keys,
        extensions,
      });
  const pkcs8 = Buffer.from(await crypto.subtle.exportKey("pkcs8", keys.privateKey)).toString("base64");
  return {
    certPem: certificate.toString("pem"),
    keyPem: `-----BEGIN PRIVATE KEY-----\n${pkcs8.replace(/(.{64})/g, "$1\n").trimEnd()}\n-----END PRIVATE KEY-----\n`,
    derBase64: Buffer.from(certificate.rawData).toString("base64"),
    publicJwk: await crypto.subtle.exportKey("jwk", keys.publicKey),
    subject: certificate.subject,
    signer: { certificate, privateKey: keys.privateKey },
  };
}
