/**
 * An uploaded PKCS#10 certificate signing request (RFC 2986), for a client that keeps its private
 * key to itself. What is taken from it is its public key, and only once its signature verifies
 * with that key (proof that the uploader holds the private key, §3). Its subject is shown to the
 * operator but never copied blindly: the certificate's subject is the one typed in the form, and
 * requested extensions are ignored.
 */
import { PkiInputError } from "./errors";
import { importPublicKey, type PublicKeyInfo } from "./keys";
import { fromPem } from "./pem";
import { UNTRUSTED_DER_LIMITS, x509 } from "./x509";

export interface CertificateSigningRequest {
  /** The requested key, SubjectPublicKeyInfo DER. */
  spki: Uint8Array;
  publicKey: PublicKeyInfo;
  /** The subject the CSR asks for, RFC 4514 (most specific first), for display only. */
  requestedSubject: string;
}

export async function readCertificateSigningRequest(text: string): Promise<CertificateSigningRequest> {
  const der = fromPem(text, ["CERTIFICATE REQUEST", "NEW CERTIFICATE REQUEST"], "csr", "certificate request");
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(der, UNTRUSTED_DER_LIMITS);
  } catch {
    throw new PkiInputError("csr", "this is not a PKCS#10 certificate request");
  }
  const spki = new Uint8Array(csr.publicKey.rawData);
  const publicKey = await importPublicKey(spki, "csr");
  if (!(await csr.verify().catch(() => false))) {
    throw new PkiInputError("csr", "the request's signature does not verify with its own public key");
  }
  return { spki, publicKey, requestedSubject: rfc4514(csr.subjectName) };
}

/** @peculiar/x509 lists a Name in ASN.1 order; RFC 4514 writes it the other way round. */
function rfc4514(name: x509.Name): string {
  return name
    .toJSON()
    .reverse()
    .map((rdn) =>
      Object.entries(rdn)
        .flatMap(([type, values]) => values.map((value) => `${type}=${value.replace(/[\\,+"<>;=]/g, "\\$&")}`))
        .join("+"),
    )
    .join(",");
}
