/**
 * Subject DNs typed by an operator, as RFC 4514 strings: most specific attribute first,
 * `CN=client,OU=Devices,O=Example Bank,C=GB`, the form a `tls_client_auth` client registers
 * (RFC 8705 §2.1.2) and the form src/mtls/der.ts reads back out of a certificate. The parsed
 * name is written into certificates in ASN.1 order (the reverse, most general first).
 *
 * Only the attribute types src/mtls/der.ts names are accepted, so every issued subject reads back
 * as the same string, and each value is checked against RFC 5280's upper bounds (Appendix A) and
 * string types: C and serialNumber are PrintableString, emailAddress and DC IA5String, the rest
 * UTF8String (RFC 5280 §4.1.2.6).
 */
import { PkiInputError } from "./errors";
import { x509 } from "./x509";

type StringType = "utf8String" | "printableString" | "ia5String";

interface AttributeRule {
  oid: string;
  maxLength: number;
  type: StringType;
}

/** Keyed by the upper-cased name; `name` in the result keeps the spelling der.ts prints. */
const ATTRIBUTES: Record<string, AttributeRule & { name: string }> = {
  CN: { name: "CN", oid: "2.5.4.3", maxLength: 64, type: "utf8String" },
  OU: { name: "OU", oid: "2.5.4.11", maxLength: 64, type: "utf8String" },
  O: { name: "O", oid: "2.5.4.10", maxLength: 64, type: "utf8String" },
  L: { name: "L", oid: "2.5.4.7", maxLength: 128, type: "utf8String" },
  ST: { name: "ST", oid: "2.5.4.8", maxLength: 128, type: "utf8String" },
  STREET: { name: "STREET", oid: "2.5.4.9", maxLength: 128, type: "utf8String" },
  C: { name: "C", oid: "2.5.4.6", maxLength: 2, type: "printableString" },
  DC: { name: "DC", oid: "0.9.2342.19200300.100.1.25", maxLength: 63, type: "ia5String" },
  UID: { name: "UID", oid: "0.9.2342.19200300.100.1.1", maxLength: 256, type: "utf8String" },
  EMAILADDRESS: { name: "emailAddress", oid: "1.2.840.113549.1.9.1", maxLength: 255, type: "ia5String" },
  SERIALNUMBER: { name: "serialNumber", oid: "2.5.4.5", maxLength: 64, type: "printableString" },
};

export interface DnAttribute {
  name: string;
  oid: string;
  value: string;
  type: StringType;
}

/** A parsed subject, in the order it was written (RFC 4514: most specific first). */
export interface DistinguishedName {
  attributes: DnAttribute[];
}

const MAX_DN_LENGTH = 1_024;
const MAX_ATTRIBUTES = 16;
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

export function parseDistinguishedName(text: string): DistinguishedName {
  if (text.length > MAX_DN_LENGTH) throw new PkiInputError("subject", "the subject DN is too long");
  const parts = splitUnescaped(text, ",");
  if (parts.length > MAX_ATTRIBUTES) throw new PkiInputError("subject", "the subject DN has too many attributes");
  const attributes = parts.map(parseAttribute);
  if (!attributes.some((a) => a.name === "CN")) {
    throw new PkiInputError("subject", "the subject DN needs a CN, e.g. CN=client");
  }
  return { attributes };
}

function parseAttribute(part: string): DnAttribute {
  if (splitUnescaped(part, "+").length > 1) {
    throw new PkiInputError("subject", "multi-valued RDNs (+) are not supported; separate attributes with commas");
  }
  const equals = part.indexOf("=");
  const typeText = part.slice(0, Math.max(equals, 0)).trim();
  if (equals < 0 || typeText === "") {
    throw new PkiInputError("subject", `"${part.trim()}" is not an attribute=value pair`);
  }
  const rule = ATTRIBUTES[typeText.toUpperCase()];
  if (!rule) {
    const known = Object.values(ATTRIBUTES).map((a) => a.name);
    throw new PkiInputError("subject", `unknown attribute "${typeText}"; use one of ${known.join(", ")}`);
  }
  const value = unescapeValue(part.slice(equals + 1), rule.name);
  checkValue(rule, value);
  return { name: rule.name, oid: rule.oid, value, type: rule.type };
}

function checkValue(rule: AttributeRule & { name: string }, value: string): void {
  const what = `the ${rule.name} value`;
  if (value === "") throw new PkiInputError("subject", `${what} is empty`);
  if (CONTROL.test(value)) throw new PkiInputError("subject", `${what} contains a control character`);
  if (rule.name === "C" && !/^[A-Z]{2}$/.test(value)) {
    throw new PkiInputError("subject", "C must be a two-letter country code in capitals (ISO 3166), e.g. C=GB");
  }
  if ([...value].length > rule.maxLength) {
    throw new PkiInputError("subject", `${what} is longer than ${rule.maxLength} characters (RFC 5280)`);
  }
  if (rule.type === "printableString" && !PRINTABLE.test(value)) {
    throw new PkiInputError("subject", `${what} may only hold letters, digits, spaces and '()+,-./:=?`);
  }
  if (rule.type === "ia5String" && !/^[\x20-\x7e]*$/.test(value)) {
    throw new PkiInputError("subject", `${what} must be ASCII`);
  }
}

/** Splits at `separator` where it is not escaped with a backslash. */
function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let current = "";
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === "\\" && i + 1 < text.length) {
      current += ch + text[i + 1];
      i++;
    } else if (ch === separator) {
      parts.push(current);
      current = "";
    } else {
      current += ch;
    }
  }
  parts.push(current);
  return parts;
}

/**
 * RFC 4514 §3: `\` before a special character or space, or `\HH` hex pairs (UTF-8 bytes).
 * Unescaped spaces around the value are not part of it (certificate-match.ts trims them too).
 * The `#hex` form (a BER value) is refused: an operator has no reason to type one.
 */
function unescapeValue(raw: string, name: string): string {
  const text = raw.replace(/^ +/, "").replace(/(?<!\\) +$/, "");
  if (text.startsWith("#")) throw new PkiInputError("subject", `the ${name} value may not be a #hex BER value`);
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch !== "\\") {
      if ('"+;<>'.includes(ch)) {
        throw new PkiInputError("subject", `${ch} in the ${name} value must be escaped as \\${ch}`);
      }
      const code = text.codePointAt(i) ?? 0;
      const char = String.fromCodePoint(code);
      bytes.push(...encoder.encode(char));
      i += char.length - 1;
      continue;
    }
    const next = text.slice(i + 1, i + 3);
    if (/^[0-9A-Fa-f]{2}$/.test(next)) {
      bytes.push(Number.parseInt(next, 16));
      i += 2;
    } else if (text[i + 1] !== undefined && ' "#+,;<=>\\'.includes(text[i + 1] as string)) {
      bytes.push(...encoder.encode(text[i + 1]));
      i += 1;
    } else {
      throw new PkiInputError("subject", `the ${name} value has a backslash that escapes nothing`);
    }
  }
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(new Uint8Array(bytes));
  } catch {
    throw new PkiInputError("subject", `the ${name} value's \\HH escapes are not UTF-8`);
  }
}

/** The name for @peculiar/x509, in ASN.1 order (most general first), each value with its string type. */
export function toX509Name(dn: DistinguishedName): x509.Name {
  return new x509.Name([...dn.attributes].reverse().map((a) => ({ [a.oid]: [{ [a.type]: a.value }] })));
}
