/**
 * Client certificates for mTLS client authentication (RFC 8705), issued by a CA held in edge-op:
 * the tutorial's "Add Client Certificate" for `CN=client`. The key pair is generated here (and
 * handed out once, as PEM and .pfx) or comes from an uploaded CSR (and never leaves the client).
 *
 * Profile (RFC 5280 §4.2): Basic Constraints CA:FALSE and Key Usage digitalSignature, both
 * critical (a TLS client only signs the handshake), Extended Key Usage id-kp-clientAuth
 * (§4.2.1.12: servers refuse a client certificate without it), Subject and Authority Key
 * Identifiers, and a 127-bit serial number from the CSPRNG.
 *
 * The result says what a client registers to use it: `tls_client_auth_subject_dn`, read back out
 * of the issued certificate by the same code that reads presented certificates
 * (src/mtls/der.ts), so the two cannot disagree; the public key as a JWK for
 * `self_signed_tls_client_auth`; and the `x5t#S256` its tokens will be bound to.
 */
import { parseCertificate } from "../mtls/der";
import type { CertificateAuthority } from "./certificate-authority";
import { readCertificateSigningRequest } from "./csr";
import { parseDistinguishedName, toX509Name } from "./distinguished-name";
import { PkiInputError } from "./errors";
import {
  exportDer,
  type GeneratedKeyAlgorithm,
  generateKeyPair,
  importPublicKey,
  type KeyAlgorithmName,
  type PublicJwk,
  signingAlgorithm,
} from "./keys";
import { toPem } from "./pem";
import { randomSerialNumber, type ValidityInput, validityWindow } from "./validity";
import { x509 } from "./x509";

/** Ten years is the console's limit for a client certificate; the default form value is one year. */
export const CLIENT_CERTIFICATE_MAX_DAYS = 3_650;

export interface IssueClientCertificateInput {
  authority: CertificateAuthority;
  /** RFC 4514, e.g. `CN=client` or `CN=kiosk-7,OU=Branches,O=Example Bank,C=GB`. */
  subject: string;
  validity: ValidityInput;
  /** Generate a key pair here, or certify the key of an uploaded PKCS#10 request (PEM). */
  key: { generate: GeneratedKeyAlgorithm } | { csr: string };
  now?: Date;
}

/** What a client registers (RFC 8705 §2.1.2, §2.2) and what its tokens will carry (§3.1). */
export interface CertificateRegistration {
  tls_client_auth_subject_dn: string;
  /** The certificate's public key, for the `jwks` of a `self_signed_tls_client_auth` client. */
  jwk: PublicJwk;
  "x5t#S256": string;
}

export interface IssuedClientCertificate {
  der: Uint8Array;
  pem: string;
  /** Hex, as `openssl x509 -serial` prints it (upper case there). */
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  keyAlgorithm: KeyAlgorithmName;
  keySource: "generated" | "csr";
  /** Only for a generated key: PKCS#8, to hand out once (PEM or inside the .pfx) and never store. */
  privateKeyPkcs8?: Uint8Array;
  privateKeyPem?: string;
  registration: CertificateRegistration;
}

export async function issueClientCertificate(input: IssueClientCertificateInput): Promise<IssuedClientCertificate> {
  const now = input.now ?? new Date();
  const { authority } = input;
  const subject = parseDistinguishedName(input.subject);
  const validity = validityWindow(input.validity, CLIENT_CERTIFICATE_MAX_DAYS, now, authority.certificate.notBefore);
  checkWithinAuthority(validity, authority.certificate);
  const key = await subjectKey(input.key);

  const serialNumber = randomSerialNumber();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber,
    subject: toX509Name(subject),
    // The CA's own encoded name, so the issuer field is byte-for-byte its subject (path building, RFC 5280 §7.1).
    issuer: authority.certificate.subjectName,
    notBefore: validity.notBefore,
    notAfter: validity.notAfter,
    publicKey: key.spki,
    signingKey: authority.signingKey,
    signingAlgorithm: signingAlgorithm(authority.keyAlgorithm),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      await x509.SubjectKeyIdentifierExtension.create(key.spki),
      await authorityKeyIdentifier(authority.certificate),
    ],
  });
  const der = new Uint8Array(certificate.rawData);
  const parsed = await parseCertificate(der);
  return {
    der,
    pem: toPem("CERTIFICATE", der),
    serialNumber,
    notBefore: validity.notBefore,
    notAfter: validity.notAfter,
    keyAlgorithm: key.algorithm,
    keySource: key.privateKeyPkcs8 ? "generated" : "csr",
    ...(key.privateKeyPkcs8
      ? { privateKeyPkcs8: key.privateKeyPkcs8, privateKeyPem: toPem("PRIVATE KEY", key.privateKeyPkcs8) }
      : {}),
    registration: { tls_client_auth_subject_dn: parsed.subjectDn, jwk: key.jwk, "x5t#S256": parsed.x5tS256 },
  };
}

/** A certificate valid beyond its CA would fail path validation for that time (RFC 5280 §6.1.3). */
function checkWithinAuthority(validity: { notBefore: Date; notAfter: Date }, ca: x509.X509Certificate): void {
  if (validity.notAfter.getTime() > ca.notAfter.getTime()) {
    throw new PkiInputError(
      "validity",
      `the certificate would outlive its CA, which expires ${ca.notAfter.toISOString()}`,
    );
  }
  if (validity.notBefore.getTime() < ca.notBefore.getTime()) {
    throw new PkiInputError(
      "validity",
      `the certificate would start before its CA, valid from ${ca.notBefore.toISOString()}`,
    );
  }
}

interface SubjectKey {
  spki: Uint8Array;
  algorithm: KeyAlgorithmName;
  jwk: PublicJwk;
  privateKeyPkcs8?: Uint8Array;
}

async function subjectKey(source: IssueClientCertificateInput["key"]): Promise<SubjectKey> {
  if ("csr" in source) {
    const request = await readCertificateSigningRequest(source.csr);
    return { spki: request.spki, algorithm: request.publicKey.algorithm, jwk: request.publicKey.jwk };
  }
  const keys = await generateKeyPair(source.generate);
  const spki = await exportDer(keys.publicKey, "spki");
  const info = await importPublicKey(spki, "key_algorithm");
  const privateKeyPkcs8 = await exportDer(keys.privateKey, "pkcs8");
  return { spki, algorithm: info.algorithm, jwk: info.jwk, privateKeyPkcs8 };
}

/** Points at the CA's own Subject Key Identifier when it has one (an imported CA may use another method than SHA-1 of the key). */
async function authorityKeyIdentifier(ca: x509.X509Certificate): Promise<x509.AuthorityKeyIdentifierExtension> {
  const ski = ca.getExtension(x509.SubjectKeyIdentifierExtension);
  return ski
    ? new x509.AuthorityKeyIdentifierExtension(ski.keyId)
    : x509.AuthorityKeyIdentifierExtension.create(ca.publicKey);
}
