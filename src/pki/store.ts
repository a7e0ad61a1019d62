/**
 * The stored shapes of CAs and issued client certificates (D1 tables certificate_authorities and
 * client_certificates, migrations/0061_pki.sql, docs/storage-schema.md): what is written, how a row read back is checked field by field
 * (parsed, never cast), and how a CA's private key is sealed.
 *
 * A CA's private key is stored only encrypted, AES-256-GCM with DATA_ENCRYPTION_KEY
 * (src/crypto/encryption.ts), its additional data naming the row and the SHA-256 of the CA
 * certificate: a key copied to another row, or a row whose certificate was swapped, no longer
 * opens. A client certificate's private key is never stored: it is handed out once, when issued.
 */

import { base64url, fromBase64url } from "../crypto/encoding";
import { decrypt, encrypt } from "../crypto/encryption";
import type { CertificateAuthority, NewCertificateAuthority } from "./certificate-authority";
import type { IssuedClientCertificate } from "./client-certificate";
import { StoredPkiRecordError } from "./errors";
import { importPrivateKey, type KeyAlgorithmName, type PublicJwk, x5tS256 } from "./keys";
import { fromPem } from "./pem";
import { x509 } from "./x509";

export interface StoredCertificateAuthority {
  id: string;
  /** The operator's label, e.g. "Branch devices". */
  name: string;
  subject_dn: string;
  certificate_pem: string;
  /** `v1.<iv>.<ciphertext>`: PKCS#8 (base64url) under DATA_ENCRYPTION_KEY, bound by `caKeyAad`. */
  private_key_encrypted: string;
  key_algorithm: KeyAlgorithmName;
  origin: "created" | "imported";
  /** Unix seconds. */
  not_before: number;
  not_after: number;
  created_at: number;
  /** When the CA stopped issuing; it still verifies what it issued until then. */
  retired_at: number | null;
}

export interface StoredClientCertificate {
  id: string;
  ca_id: string;
  /** Hex, lower case. */
  serial_number: string;
  /** RFC 4514, as a tls_client_auth client registers it. */
  subject_dn: string;
  certificate_pem: string;
  x5t_s256: string;
  /** JSON of the public key's JWK (kty and key members only). */
  public_jwk: string;
  key_algorithm: KeyAlgorithmName;
  key_source: "generated" | "csr";
  not_before: number;
  not_after: number;
  created_at: number;
  /** The client it was attached to (by subject DN or JWK), if any. */
  client_id: string | null;
  revoked_at: number | null;
}

/** A fresh 128-bit identifier for a CA or certificate row. */
export function newPkiId(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(16)));
}

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

function caKeyAad(id: string, certificateThumbprint: string): string {
  return `edge-op pki ca-key ${id} ${certificateThumbprint}`;
}

export async function sealCertificateAuthority(
  dataEncryptionKey: string | undefined,
  record: { id: string; name: string; origin: "created" | "imported"; createdAt: Date },
  authority: NewCertificateAuthority,
): Promise<StoredCertificateAuthority> {
  const aad = caKeyAad(record.id, await x5tS256(authority.der));
  return {
    id: record.id,
    name: record.name,
    subject_dn: authority.subjectDn,
    certificate_pem: authority.pem,
    private_key_encrypted: await encrypt(dataEncryptionKey, base64url(authority.privateKeyPkcs8), aad),
    key_algorithm: authority.keyAlgorithm,
    origin: record.origin,
    not_before: seconds(authority.certificate.notBefore),
    not_after: seconds(authority.certificate.notAfter),
    created_at: seconds(record.createdAt),
    retired_at: null,
  };
}

/** Decrypts the key (not extractable from here on) and pairs it with the certificate, ready to issue. */
export async function openCertificateAuthority(
  dataEncryptionKey: string | undefined,
  stored: StoredCertificateAuthority,
): Promise<CertificateAuthority> {
  const der = certificateDer(stored.certificate_pem);
  const plain = await decrypt(dataEncryptionKey, stored.private_key_encrypted, caKeyAad(stored.id, await x5tS256(der)));
  const pkcs8 = plain === undefined ? undefined : fromBase64url(plain);
  if (!pkcs8) {
    throw new StoredPkiRecordError(`the private key of CA ${stored.id} does not open with DATA_ENCRYPTION_KEY`);
  }
  try {
    return {
      certificate: new x509.X509Certificate(der),
      der,
      pem: stored.certificate_pem,
      subjectDn: stored.subject_dn,
      keyAlgorithm: stored.key_algorithm,
      signingKey: await importPrivateKey(pkcs8, stored.key_algorithm, false),
    };
  } catch {
    throw new StoredPkiRecordError(
      `CA ${stored.id}: its certificate or key no longer reads as ${stored.key_algorithm}`,
    );
  }
}

export function clientCertificateRecord(
  record: { id: string; caId: string; createdAt: Date },
  issued: IssuedClientCertificate,
): StoredClientCertificate {
  return {
    id: record.id,
    ca_id: record.caId,
    serial_number: issued.serialNumber,
    subject_dn: issued.registration.tls_client_auth_subject_dn,
    certificate_pem: issued.pem,
    x5t_s256: issued.registration["x5t#S256"],
    public_jwk: JSON.stringify(issued.registration.jwk),
    key_algorithm: issued.keyAlgorithm,
    key_source: issued.keySource,
    not_before: seconds(issued.notBefore),
    not_after: seconds(issued.notAfter),
    created_at: seconds(record.createdAt),
    client_id: null,
    revoked_at: null,
  };
}

function certificateDer(pem: string): Uint8Array {
  try {
    return fromPem(pem, ["CERTIFICATE"], "certificate", "certificate");
  } catch {
    throw new StoredPkiRecordError("a stored certificate is not a PEM certificate");
  }
}

// ---- reading rows back: every field checked, nothing cast ----

type Row = Record<string, unknown>;

function asRow(value: unknown, what: string): Row {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new StoredPkiRecordError(`${what}: not a row`);
  }
  return value as Row;
}

function text(row: Row, name: string, what: string): string {
  const value = row[name];
  if (typeof value !== "string" || value === "") throw new StoredPkiRecordError(`${what}: ${name} is not a string`);
  return value;
}

function time(row: Row, name: string, what: string): number {
  const value = row[name];
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new StoredPkiRecordError(`${what}: ${name} is not a time`);
  }
  return value;
}

function optional<T>(row: Row, name: string, read: (row: Row, name: string, what: string) => T, what: string) {
  return row[name] === null || row[name] === undefined ? null : read(row, name, what);
}

function oneOf<T extends string>(row: Row, name: string, values: readonly T[], what: string): T {
  const value = row[name];
  const found = values.find((v) => v === value);
  if (found === undefined) throw new StoredPkiRecordError(`${what}: ${name} is not one of ${values.join(", ")}`);
  return found;
}

function keyAlgorithm(row: Row, what: string): KeyAlgorithmName {
  const value = text(row, "key_algorithm", what);
  if (value === "P-256" || value === "P-384") return value;
  const rsa = /^RSA-(\d{4})$/.exec(value);
  if (rsa) return `RSA-${Number(rsa[1])}`;
  throw new StoredPkiRecordError(`${what}: key_algorithm ${value} is not known`);
}

export function parseStoredCertificateAuthority(value: unknown): StoredCertificateAuthority {
  const what = "stored CA";
  const row = asRow(value, what);
  const encrypted = text(row, "private_key_encrypted", what);
  if (!encrypted.startsWith("v1.")) throw new StoredPkiRecordError(`${what}: private_key_encrypted is not sealed`);
  return {
    id: text(row, "id", what),
    name: text(row, "name", what),
    subject_dn: text(row, "subject_dn", what),
    certificate_pem: text(row, "certificate_pem", what),
    private_key_encrypted: encrypted,
    key_algorithm: keyAlgorithm(row, what),
    origin: oneOf(row, "origin", ["created", "imported"] as const, what),
    not_before: time(row, "not_before", what),
    not_after: time(row, "not_after", what),
    created_at: time(row, "created_at", what),
    retired_at: optional(row, "retired_at", time, what),
  };
}

export function parseStoredClientCertificate(value: unknown): StoredClientCertificate {
  const what = "stored client certificate";
  const row = asRow(value, what);
  const serial = text(row, "serial_number", what);
  if (!/^[0-9a-f]{2,40}$/.test(serial)) throw new StoredPkiRecordError(`${what}: serial_number is not hex`);
  const jwk = text(row, "public_jwk", what);
  parsePublicJwk(jwk, what);
  return {
    id: text(row, "id", what),
    ca_id: text(row, "ca_id", what),
    serial_number: serial,
    subject_dn: text(row, "subject_dn", what),
    certificate_pem: text(row, "certificate_pem", what),
    x5t_s256: text(row, "x5t_s256", what),
    public_jwk: jwk,
    key_algorithm: keyAlgorithm(row, what),
    key_source: oneOf(row, "key_source", ["generated", "csr"] as const, what),
    not_before: time(row, "not_before", what),
    not_after: time(row, "not_after", what),
    created_at: time(row, "created_at", what),
    client_id: optional(row, "client_id", text, what),
    revoked_at: optional(row, "revoked_at", time, what),
  };
}

/** The stored `public_jwk` as a key a client can register; throws if it is not one. */
export function parsePublicJwk(json: string, what = "public_jwk"): PublicJwk {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new StoredPkiRecordError(`${what}: public_jwk is not JSON`);
  }
  const row = asRow(value, what);
  if (row.kty === "EC")
    return { kty: "EC", crv: text(row, "crv", what), x: text(row, "x", what), y: text(row, "y", what) };
  if (row.kty === "RSA") return { kty: "RSA", n: text(row, "n", what), e: text(row, "e", what) };
  throw new StoredPkiRecordError(`${what}: public_jwk has no known kty`);
}
