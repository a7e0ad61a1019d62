/**
 * Certificate authorities for client certificates (the tutorial's "Certificate Authorities"
 * screen): create one, its key pair generated here with Web Crypto, or import an existing one
 * (PEM certificate + PKCS#8 key). Either way the result is checked to be usable for issuing and
 * acceptable to Cloudflare's mTLS (Basic Constraints CA:TRUE, an ECDSA or PKCS#1 v1.5 RSA
 * signature). src/pki/store.ts encrypts the private key for storage.
 */
import { parseCertificate } from "../mtls/der";
import { parseDistinguishedName, toX509Name } from "./distinguished-name";
import { PkiInputError } from "./errors";
import {
  exportDer,
  type GeneratedKeyAlgorithm,
  generateKeyPair,
  importPrivateKey,
  importPublicKey,
  type KeyAlgorithmName,
  provesPossession,
  signingAlgorithm,
} from "./keys";
import { fromPem, toPem } from "./pem";
import { randomSerialNumber, type ValidityInput, validityWindow } from "./validity";
import { UNTRUSTED_DER_LIMITS, x509 } from "./x509";

/** A CA ready to sign: its certificate and its private key (not extractable once opened from storage). */
export interface CertificateAuthority {
  certificate: x509.X509Certificate;
  der: Uint8Array;
  pem: string;
  /** RFC 4514, as src/mtls/der.ts reads it. */
  subjectDn: string;
  keyAlgorithm: KeyAlgorithmName;
  signingKey: CryptoKey;
}

/** A CA just created or imported, with its key in PKCS#8 for src/pki/store.ts to encrypt. */
export interface NewCertificateAuthority extends CertificateAuthority {
  privateKeyPkcs8: Uint8Array;
}

/** A root for client certificates may live long; 30 years is the console's limit. */
export const CA_MAX_DAYS = 10_950;

export interface CreateCertificateAuthorityInput {
  /** RFC 4514, e.g. `CN=edge-op client CA,O=Example Bank,C=GB`. */
  subject: string;
  keyAlgorithm: GeneratedKeyAlgorithm;
  validity: ValidityInput;
  now?: Date;
}

/**
 * A self-signed root (RFC 5280 §4.2.1.9, §4.2.1.3): Basic Constraints CA:TRUE with path length 0
 * (it issues end-entity certificates only), Key Usage keyCertSign and cRLSign, both critical,
 * and a Subject Key Identifier that issued certificates point to.
 */
export async function createCertificateAuthority(input: CreateCertificateAuthorityInput) {
  const now = input.now ?? new Date();
  const subject = parseDistinguishedName(input.subject);
  const { notBefore, notAfter } = validityWindow(input.validity, CA_MAX_DAYS, now);
  const keys = await generateKeyPair(input.keyAlgorithm);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialNumber(),
    name: toX509Name(subject),
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: signingAlgorithm(input.keyAlgorithm),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const der = new Uint8Array(certificate.rawData);
  return {
    certificate,
    der,
    pem: toPem("CERTIFICATE", der),
    subjectDn: (await parseCertificate(der)).subjectDn,
    keyAlgorithm: input.keyAlgorithm,
    signingKey: keys.privateKey,
    privateKeyPkcs8: await exportDer(keys.privateKey, "pkcs8"),
  } satisfies NewCertificateAuthority;
}

export interface ImportCertificateAuthorityInput {
  certificatePem: string;
  /** Unencrypted PKCS#8 (`-----BEGIN PRIVATE KEY-----`). */
  privateKeyPem: string;
  now?: Date;
}

/** An existing CA: every check names the field to fix. */
export async function importCertificateAuthority(input: ImportCertificateAuthorityInput) {
  const now = input.now ?? new Date();
  const der = fromPem(input.certificatePem, ["CERTIFICATE"], "certificate", "certificate");
  const certificate = readCertificate(der);
  await checkIsUsableCa(certificate, now);
  const publicKey = await importPublicKey(new Uint8Array(certificate.publicKey.rawData), "certificate");
  const pkcs8 = fromPem(input.privateKeyPem, ["PRIVATE KEY"], "private_key", "private key");
  const signingKey = await importPrivateKey(pkcs8, publicKey.algorithm, false);
  if (!(await provesPossession(signingKey, publicKey.key, publicKey.algorithm))) {
    throw new PkiInputError("private_key", "this private key does not belong to the certificate");
  }
  return {
    certificate,
    der,
    pem: toPem("CERTIFICATE", der),
    subjectDn: (await parseCertificate(der)).subjectDn,
    keyAlgorithm: publicKey.algorithm,
    signingKey,
    privateKeyPkcs8: pkcs8,
  } satisfies NewCertificateAuthority;
}

function readCertificate(der: Uint8Array): x509.X509Certificate {
  try {
    return new x509.X509Certificate(der, UNTRUSTED_DER_LIMITS);
  } catch {
    throw new PkiInputError("certificate", "this is not an X.509 certificate");
  }
}

/** The signature algorithms Cloudflare accepts on an uploaded CA (its BYO CA requirements). */
const CLOUDFLARE_SIGNATURES = new Set(["ECDSA", "RSASSA-PKCS1-v1_5"]);

async function checkIsUsableCa(certificate: x509.X509Certificate, now: Date): Promise<void> {
  const constraints = certificate.getExtension(x509.BasicConstraintsExtension);
  if (!constraints?.ca) {
    throw new PkiInputError("certificate", "this is not a CA certificate (Basic Constraints CA:TRUE is missing)");
  }
  const usage = certificate.getExtension(x509.KeyUsagesExtension);
  if (usage && !(usage.usages & x509.KeyUsageFlags.keyCertSign)) {
    throw new PkiInputError("certificate", "this CA's Key Usage does not allow signing certificates (keyCertSign)");
  }
  if (certificate.notAfter.getTime() <= now.getTime()) {
    throw new PkiInputError("certificate", `this CA expired on ${certificate.notAfter.toISOString()}`);
  }
  // The library's Algorithm type is the DOM's, which workers-types does not declare.
  const signature: object = certificate.signatureAlgorithm;
  if (!("name" in signature) || !CLOUDFLARE_SIGNATURES.has(String(signature.name))) {
    throw new PkiInputError("certificate", "Cloudflare accepts only CAs signed with ECDSA or RSA PKCS#1 v1.5");
  }
  // A self-signed root whose own signature does not verify is corrupt; an intermediate is
  // checked by whoever holds its issuer.
  const selfIssued = certificate.subject === certificate.issuer;
  if (selfIssued && !(await certificate.verify({ signatureOnly: true }).catch(() => false))) {
    throw new PkiInputError("certificate", "this self-signed CA certificate's signature does not verify");
  }
}
