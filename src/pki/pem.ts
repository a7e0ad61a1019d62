/**
 * PEM (RFC 7468) in and out. Reading is strict about the label, so a pasted private key is never
 * taken for a certificate, and bounded in size, so a pasted file cannot be arbitrarily large.
 */
import { type PkiField, PkiInputError } from "./errors";

/** 64 base64 characters a line, as RFC 7468 §2 generators do. */
export function toPem(label: string, der: Uint8Array): string {
  let binary = "";
  for (const byte of der) binary += String.fromCharCode(byte);
  const lines = btoa(binary).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** Large enough for an RSA-4096 certificate or key with room to spare. */
export const MAX_PEM_LENGTH = 16_384;

/**
 * The DER inside the single PEM block labelled with one of `labels`. Text outside the block
 * (an OpenSSL "Bag Attributes" preamble, a trailing newline) is allowed; a second block is not.
 */
export function fromPem(text: string, labels: readonly string[], field: PkiField, what: string): Uint8Array {
  if (text.length > MAX_PEM_LENGTH) throw new PkiInputError(field, `the ${what} is too long`);
  const blocks = [...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g)];
  const block = blocks[0];
  if (!block || blocks.length !== 1) throw new PkiInputError(field, `paste exactly one PEM ${what}`);
  const label = block[1] ?? "";
  if (!labels.includes(label)) {
    throw new PkiInputError(field, `expected a PEM "${labels[0]}", got "${label}"${hintFor(label)}`);
  }
  const base64 = (block[2] ?? "").replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64) || base64.length % 4 !== 0) {
    throw new PkiInputError(field, `the ${what} is not valid base64`);
  }
  const binary = atob(base64);
  const der = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) der[i] = binary.charCodeAt(i);
  return der;
}

/** Keys in the older or encrypted formats are common; say how to convert them. */
function hintFor(label: string): string {
  if (label === "EC PRIVATE KEY" || label === "RSA PRIVATE KEY" || label === "ENCRYPTED PRIVATE KEY") {
    return " (convert it to unencrypted PKCS#8: openssl pkcs8 -topk8 -nocrypt -in key.pem)";
  }
  return "";
}
