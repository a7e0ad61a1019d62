/**
 * Message encryption for Web Push (RFC 8291) on Web Crypto: the `aes128gcm` content coding of
 * RFC 8188 with its input keying material agreed by ECDH between an ephemeral key of ours and
 * the browser's subscription key (`p256dh`), mixed with the subscription's `auth` secret.
 *
 * Written here rather than taken from a package: `@pushforge/builder` 2.0.5 still sends the
 * pre-RFC `aesgcm` coding (Encryption/Crypto-Key headers), and `@block65/webcrypto-web-push`
 * 2.0.0, while RFC 8291-correct, generates the salt and ephemeral key internally (so it cannot be
 * checked against the RFC's worked example) and refuses the http loopback endpoints edge-op's
 * development mode needs. This file is about 100 lines and is tested byte for byte against
 * RFC 8188 §3.1 and RFC 8291 §5 / Appendix A (test/web-push-crypto.test.ts).
 */
import { utf8 } from "../crypto/encoding";

/** RFC 8291 §4: a push message is one record of at most 4096 octets. */
export const PUSH_RECORD_SIZE = 4096;
/** Header with a 65-octet keyid (86) + padding delimiter (1) + GCM tag (16): 3993 octets of plaintext. */
export const MAX_PUSH_PLAINTEXT = PUSH_RECORD_SIZE - 86 - 1 - 16;
const TAG_LENGTH = 16;

export class PayloadTooLargeError extends Error {
  override name = "PayloadTooLargeError";
}

export interface ContentCodingParams {
  /** Input keying material (RFC 8188 §2.1 IKM). */
  ikm: Uint8Array;
  /** 16 random octets, new for every message. */
  salt: Uint8Array;
  /** The keyid header field; for Web Push the sender's public key (RFC 8291 §3.1). */
  keyId: Uint8Array;
  /** rs: the record size, header excluded. */
  recordSize: number;
  /** Zero octets added after the delimiter, to hide the plaintext's exact length. */
  padding?: number;
}

async function hkdf(salt: Uint8Array, ikm: Uint8Array, info: Uint8Array, length: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  return new Uint8Array(await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info }, key, length * 8));
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** RFC 8188 §2.2 and §2.3: the content-encryption key and the nonce of the first record. */
export async function contentKeys(ikm: Uint8Array, salt: Uint8Array): Promise<{ cek: Uint8Array; nonce: Uint8Array }> {
  const [cek, nonce] = await Promise.all([
    hkdf(salt, ikm, utf8.encode("Content-Encoding: aes128gcm\0"), 16),
    hkdf(salt, ikm, utf8.encode("Content-Encoding: nonce\0"), 12),
  ]);
  return { cek, nonce };
}

/**
 * RFC 8188 §2: `plaintext` as a single record (delimiter 0x02, the last record) behind the
 * §2.1 header `salt | rs | idlen | keyid`. One record is all Web Push allows (RFC 8291 §4).
 */
export async function encryptSingleRecord(plaintext: Uint8Array, params: ContentCodingParams): Promise<Uint8Array> {
  const padding = params.padding ?? 0;
  if (params.salt.length !== 16) throw new Error("the salt must be 16 octets (RFC 8188 §2.1)");
  if (params.keyId.length > 255) throw new Error("the keyid must be at most 255 octets (RFC 8188 §2.1)");
  if (plaintext.length + 1 + padding + TAG_LENGTH > params.recordSize) {
    throw new PayloadTooLargeError(`${plaintext.length} octets do not fit one record of ${params.recordSize}`);
  }
  const { cek, nonce } = await contentKeys(params.ikm, params.salt);
  const key = await crypto.subtle.importKey("raw", cek, "AES-GCM", false, ["encrypt"]);
  // The delimiter, then the padding's zero octets (a new array is zero-filled).
  const record = new Uint8Array(plaintext.length + 1 + padding);
  record.set(plaintext);
  record[plaintext.length] = 0x02;
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce }, key, record));
  const header = new Uint8Array(21 + params.keyId.length);
  header.set(params.salt);
  new DataView(header.buffer).setUint32(16, params.recordSize);
  header[20] = params.keyId.length;
  header.set(params.keyId, 21);
  return concat(header, sealed);
}

/** RFC 8291 §3.3 and §3.4: IKM from the ECDH secret, the auth secret and both public keys. */
export function webPushIkm(
  ecdhSecret: Uint8Array,
  authSecret: Uint8Array,
  uaPublic: Uint8Array,
  asPublic: Uint8Array,
): Promise<Uint8Array> {
  return hkdf(authSecret, ecdhSecret, concat(utf8.encode("WebPush: info\0"), uaPublic, asPublic), 32);
}

/** The receiving user agent's keys, from its subscription (`keys.p256dh`, `keys.auth`). */
export interface UserAgentKeys {
  /** Uncompressed P-256 point, 65 octets. */
  p256dh: Uint8Array;
  /** 16 octets. */
  auth: Uint8Array;
}

/** The application server's ephemeral ECDH key for one message; tests pass RFC 8291's. */
export interface SenderKey {
  privateKey: CryptoKey;
  /** Uncompressed P-256 point, 65 octets. */
  publicKey: Uint8Array;
}

export async function ephemeralSenderKey(): Promise<SenderKey> {
  const pair = await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, ["deriveBits"]);
  if (!("privateKey" in pair)) throw new Error("the runtime generated no key pair");
  const raw = await crypto.subtle.exportKey("raw", pair.publicKey);
  if (!(raw instanceof ArrayBuffer)) throw new Error("the runtime exported no raw key");
  return { privateKey: pair.privateKey, publicKey: new Uint8Array(raw) };
}

/**
 * Plaintext length rounded up to a multiple of this, so a push service (which sees every byte)
 * learns the size of a notice only roughly, not the length of its binding message.
 */
const PAD_TO_MULTIPLE_OF = 256;

export interface EncryptOptions {
  /** Fixed salt and sender key: only for reproducing RFC 8291's example. */
  salt?: Uint8Array;
  sender?: SenderKey;
  /** Zero octets of padding; default: up to the next multiple of 256 (within one record). */
  padding?: number;
}

/**
 * RFC 8291 §3: encrypts `plaintext` for the user agent holding `ua`, as the body of a push
 * message (`Content-Encoding: aes128gcm`). A fresh salt and ephemeral key every message: reusing
 * either with the same subscription would reuse an AES-GCM key and nonce.
 */
export async function encryptPushMessage(
  ua: UserAgentKeys,
  plaintext: Uint8Array,
  options: EncryptOptions = {},
): Promise<Uint8Array> {
  if (ua.p256dh.length !== 65 || ua.p256dh[0] !== 0x04) throw new Error("p256dh must be an uncompressed P-256 point");
  if (ua.auth.length !== 16) throw new Error("the auth secret must be 16 octets (RFC 8291 §3.2)");
  if (plaintext.length > MAX_PUSH_PLAINTEXT) {
    throw new PayloadTooLargeError(`${plaintext.length} octets exceed the ${MAX_PUSH_PLAINTEXT} a push message holds`);
  }
  const sender = options.sender ?? (await ephemeralSenderKey());
  const salt = options.salt ?? crypto.getRandomValues(new Uint8Array(16));
  // Web Crypto checks that the point is on the curve; an invalid p256dh throws here.
  const uaKey = await crypto.subtle.importKey("raw", ua.p256dh, { name: "ECDH", namedCurve: "P-256" }, false, []);
  // Not an inline literal: @cloudflare/workers-types spells the member `$public`, the runtime `public`.
  const agreement = { name: "ECDH", public: uaKey };
  const ecdhSecret = new Uint8Array(await crypto.subtle.deriveBits(agreement, sender.privateKey, 256));
  const ikm = await webPushIkm(ecdhSecret, ua.auth, ua.p256dh, sender.publicKey);
  const rounded = Math.ceil((plaintext.length + 1) / PAD_TO_MULTIPLE_OF) * PAD_TO_MULTIPLE_OF;
  const padding = options.padding ?? Math.min(rounded, MAX_PUSH_PLAINTEXT + 1) - plaintext.length - 1;
  return encryptSingleRecord(plaintext, { ikm, salt, keyId: sender.publicKey, recordSize: PUSH_RECORD_SIZE, padding });
}
