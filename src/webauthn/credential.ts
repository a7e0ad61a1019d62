/**
 * A registered passkey as edge-op stores it (one per authenticator the user added), and the
 * parser every stored copy goes through on the way back in: storage is read, parsed, never cast.
 *
 * Nothing here is a secret: a public key, its id and a counter. The user handle is a random
 * 32-octet id made for WebAuthn (W3C WebAuthn L3 §14.6.1: not the subject, nothing personal),
 * which a discoverable credential returns on sign-in to say whose it is.
 */
import { base64url, fromBase64url } from "../crypto/encoding";

/** W3C WebAuthn L3 §5.8.4 AuthenticatorTransport (unknown values are dropped, as the spec asks). */
export const TRANSPORTS = ["ble", "cable", "hybrid", "internal", "nfc", "smart-card", "usb"] as const;
export type Transport = (typeof TRANSPORTS)[number];

export interface PasskeyCredential {
  /** Credential ID, base64url (WebAuthn allows up to 1023 octets). */
  id: string;
  /** The credential public key as COSE_Key (RFC 9052 §7), base64url. */
  publicKey: string;
  /** Last signature counter seen; 0 for authenticators that do not count (most synced passkeys). */
  counter: number;
  transports: Transport[];
  /** The WebAuthn user.id this credential was created for, base64url. */
  userHandle: string;
  /** Whose it is (edge-op's `sub`). */
  subject: string;
  /** Backup eligible (BE flag): a synced, multi-device passkey. */
  multiDevice: boolean;
  /** Backed up (BS flag), as last reported. */
  backedUp: boolean;
  /** Authenticator model (AAGUID), all zeros under attestation "none" for many authenticators. */
  aaguid: string;
  /** A name the user gave it ("Phone"), shown on the account page. */
  label: string;
  /** Epoch seconds. */
  createdAt: number;
  lastUsedAt: number | null;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const MAX_CREDENTIAL_ID_OCTETS = 1023;
const MAX_PUBLIC_KEY_OCTETS = 2048;
export const MAX_LABEL_LENGTH = 64;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** base64url text of 1 to `max` octets. */
function isOctets(value: unknown, max: number): value is string {
  if (typeof value !== "string") return false;
  const bytes = fromBase64url(value);
  return bytes !== undefined && bytes.length >= 1 && bytes.length <= max;
}

const epoch = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/** Transports as the browser reported them, known values only, no duplicates. */
export function parseTransports(value: unknown): Transport[] {
  if (!Array.isArray(value)) return [];
  return [...new Set(value.filter((t): t is Transport => (TRANSPORTS as readonly unknown[]).includes(t)))];
}

/** A user's label for a passkey: trimmed, control characters removed, at most 64 characters. */
export function cleanLabel(value: unknown, fallback = "Passkey"): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point.
  const text = typeof value === "string" ? value.replace(/[\u0000-\u001f\u007f]/g, "").trim() : "";
  return [...(text || fallback)].slice(0, MAX_LABEL_LENGTH).join("");
}

/** A stored credential (a Durable Object row's JSON, a D1 row), checked field by field. */
export function parsePasskeyCredential(input: unknown): Parsed<PasskeyCredential> {
  const fail = (error: string): Parsed<PasskeyCredential> => ({ ok: false, error: `stored passkey: ${error}` });
  if (!isRecord(input)) return fail("not an object");
  const { id, publicKey, counter, transports, userHandle, subject, multiDevice, backedUp, aaguid, label } = input;
  if (!isOctets(id, MAX_CREDENTIAL_ID_OCTETS)) return fail("id is not base64url of 1 to 1023 octets");
  if (!isOctets(publicKey, MAX_PUBLIC_KEY_OCTETS)) return fail("publicKey is not base64url COSE_Key");
  if (!epoch(counter) || counter > 0xffffffff) return fail("counter is not a 32-bit unsigned integer");
  if (!Array.isArray(transports) || parseTransports(transports).length !== transports.length) {
    return fail("transports holds an unknown value");
  }
  if (!isOctets(userHandle, 64)) return fail("userHandle is not base64url of 1 to 64 octets");
  if (typeof subject !== "string" || subject.length === 0 || subject.length > 255) return fail("subject is missing");
  if (typeof multiDevice !== "boolean" || typeof backedUp !== "boolean")
    return fail("multiDevice/backedUp not booleans");
  if (typeof aaguid !== "string" || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(aaguid)) {
    return fail("aaguid is not a UUID");
  }
  if (typeof label !== "string" || cleanLabel(label) !== label) return fail("label is not a clean label");
  if (!epoch(input.createdAt)) return fail("createdAt is not epoch seconds");
  const lastUsedAt = input.lastUsedAt ?? null;
  if (lastUsedAt !== null && !epoch(lastUsedAt)) return fail("lastUsedAt is not epoch seconds or null");
  return {
    ok: true,
    value: {
      id,
      publicKey,
      counter,
      transports: parseTransports(transports),
      userHandle,
      subject,
      multiDevice,
      backedUp,
      aaguid,
      label,
      createdAt: input.createdAt,
      lastUsedAt,
    },
  };
}

/** A new random WebAuthn user handle (32 octets, base64url), made once per user. */
export function newUserHandle(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}
