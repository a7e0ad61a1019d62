/**
 * Just enough DER (X.690) to read an X.509 client certificate (RFC 5280 §4.1): the subject
 * name, the subjectAltName entries and the SubjectPublicKeyInfo. Anything malformed throws
 * CertificateParseError, which callers treat as "no usable certificate".
 */
import { base64url } from "../crypto/encoding";

export class CertificateParseError extends Error {
  override name = "CertificateParseError";
}

interface Node {
  tag: number;
  /** The whole TLV, header included. */
  bytes: Uint8Array;
  /** The value only. */
  value: Uint8Array;
}

function read(data: Uint8Array, offset: number): Node & { end: number } {
  const tag = data[offset];
  let length = data[offset + 1];
  if (tag === undefined || length === undefined) throw new CertificateParseError("truncated DER");
  let header = 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4) throw new CertificateParseError("unsupported DER length");
    length = 0;
    for (let i = 0; i < count; i++) {
      const byte = data[offset + 2 + i];
      if (byte === undefined) throw new CertificateParseError("truncated DER length");
      length = length * 256 + byte;
    }
    header += count;
  }
  const end = offset + header + length;
  if (end > data.length) throw new CertificateParseError("DER value runs past the end");
  return { tag, bytes: data.subarray(offset, end), value: data.subarray(offset + header, end), end };
}

function children(node: Node): Node[] {
  const list: Node[] = [];
  let offset = 0;
  while (offset < node.value.length) {
    const child = read(node.value, offset);
    list.push(child);
    offset = child.end;
  }
  return list;
}

function expectTag(node: Node | undefined, tag: number, what: string): Node {
  if (!node || node.tag !== tag) throw new CertificateParseError(`expected ${what}`);
  return node;
}

const SEQUENCE = 0x30;
const SET = 0x31;
const OID = 0x06;

function oid(bytes: Uint8Array): string {
  const [first = 0, ...rest] = bytes;
  const parts = [Math.floor(first / 40), first % 40];
  let value = 0;
  for (const byte of rest) {
    value = value * 128 + (byte & 0x7f);
    if (!(byte & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join(".");
}

const ATTRIBUTE_NAMES: Record<string, string> = {
  "2.5.4.3": "CN",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.9": "STREET",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "0.9.2342.19200300.100.1.25": "DC",
  "0.9.2342.19200300.100.1.1": "UID",
  "1.2.840.113549.1.9.1": "emailAddress",
  "2.5.4.5": "serialNumber",
};

/** RFC 4514 §2.4 escaping of an attribute value. */
function escapeValue(value: string): string {
  return value
    .replace(/[\\,+"<>;=]/g, (ch) => `\\${ch}`)
    .replace(/^[ #]/, (ch) => `\\${ch}`)
    .replace(/ $/, "\\ ");
}

/** A Name as an RFC 4514 string: most specific RDN first, e.g. `CN=client,O=Bank,C=GB`. */
function distinguishedName(name: Node): string {
  const rdns = children(expectTag(name, SEQUENCE, "Name")).map((rdn) =>
    children(expectTag(rdn, SET, "RDN"))
      .map((attribute) => {
        const [type, value] = children(expectTag(attribute, SEQUENCE, "AttributeTypeAndValue"));
        const id = oid(expectTag(type, OID, "attribute type").value);
        const text = value ? new TextDecoder().decode(value.value) : "";
        return `${ATTRIBUTE_NAMES[id] ?? id}=${escapeValue(text)}`;
      })
      .join("+"),
  );
  return rdns.reverse().join(",");
}

export interface SubjectAltNames {
  dns: string[];
  uri: string[];
  ip: string[];
  email: string[];
}

function ipText(bytes: Uint8Array): string {
  if (bytes.length === 4) return [...bytes].join(".");
  const groups: string[] = [];
  for (let i = 0; i < bytes.length; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return groups.join(":");
}

function subjectAltNames(extensions: Node | undefined): SubjectAltNames {
  const names: SubjectAltNames = { dns: [], uri: [], ip: [], email: [] };
  if (!extensions) return names;
  const [list] = children(extensions);
  for (const extension of list ? children(list) : []) {
    const parts = children(extension);
    if (oid(expectTag(parts[0], OID, "extension id").value) !== "2.5.29.17") continue;
    const octets = parts[parts.length - 1];
    if (!octets) continue;
    const generalNames = read(octets.value, 0);
    for (const entry of children(generalNames)) {
      const text = new TextDecoder().decode(entry.value);
      if (entry.tag === 0x82) names.dns.push(text);
      else if (entry.tag === 0x86) names.uri.push(text);
      else if (entry.tag === 0x81) names.email.push(text);
      else if (entry.tag === 0x87) names.ip.push(ipText(entry.value));
    }
  }
  return names;
}

export interface ParsedCertificate {
  /** The whole certificate, DER. */
  der: Uint8Array;
  subjectDn: string;
  issuerDn: string;
  subjectAltNames: SubjectAltNames;
  /** SubjectPublicKeyInfo, DER: importable with crypto.subtle.importKey("spki", …). */
  spki: Uint8Array;
  /** RFC 8705 §3.1: base64url SHA-256 of the DER certificate. */
  x5tS256: string;
}

export async function parseCertificate(der: Uint8Array): Promise<ParsedCertificate> {
  const certificate = read(der, 0);
  if (certificate.end !== der.length) throw new CertificateParseError("trailing bytes after the certificate");
  const [tbs] = children(expectTag(certificate, SEQUENCE, "Certificate"));
  const fields = children(expectTag(tbs, SEQUENCE, "TBSCertificate"));
  // version [0] is optional (v1 certificates omit it).
  const start = fields[0]?.tag === 0xa0 ? 1 : 0;
  const issuer = fields[start + 2];
  const subject = fields[start + 4];
  const spki = expectTag(fields[start + 5], SEQUENCE, "SubjectPublicKeyInfo");
  const extensions = fields.slice(start + 6).find((f) => f.tag === 0xa3);
  return {
    der,
    subjectDn: distinguishedName(expectTag(subject, SEQUENCE, "subject")),
    issuerDn: distinguishedName(expectTag(issuer, SEQUENCE, "issuer")),
    subjectAltNames: subjectAltNames(extensions),
    spki: spki.bytes,
    x5tS256: base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", der))),
  };
}
