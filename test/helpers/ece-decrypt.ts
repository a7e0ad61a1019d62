/**
 * The receiving side of RFC 8188 (`aes128gcm`) and RFC 8291 (Web Push), on Web Crypto alone so
 * that it runs both inside workerd (test/web-push-crypto.test.ts checks it against the RFCs'
 * examples, two-record one included) and in Node, in the fake push service
 * (test/helpers/push-service.ts) that plays a browser receiving edge-op's messages.
 *
 * Written from the RFCs, independently of src/push/ece.ts (which only encrypts, one record),
 * and strict where a receiver must be: a wrong tag, a missing or misplaced delimiter, non-zero
 * padding or a truncated body are errors.
 */

const TAG = 16;

async function hkdf(salt: Uint8Array, ikm: Uint8Array, info: string | Uint8Array, length: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  const infoBytes = typeof info === "string" ? new TextEncoder().encode(info) : info;
  return new Uint8Array(
    await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info: infoBytes }, key, length * 8),
  );
}

export interface Aes128gcmHeader {
  salt: Uint8Array;
  recordSize: number;
  keyId: Uint8Array;
  /** Offset of the first record. */
  bodyOffset: number;
}

/** RFC 8188 §2.1. */
export function parseHeader(body: Uint8Array): Aes128gcmHeader {
  if (body.length < 21) throw new Error("shorter than the aes128gcm header");
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const recordSize = view.getUint32(16);
  const idLength = body[20] ?? 0;
  if (body.length < 21 + idLength) throw new Error("header truncated inside the keyid");
  if (recordSize < 18) throw new Error("record size below 18 (RFC 8188 §2.1)");
  return { salt: body.slice(0, 16), recordSize, keyId: body.slice(21, 21 + idLength), bodyOffset: 21 + idLength };
}

/** RFC 8188 §2.3: the nonce of record `index` is the base nonce XOR the index (96-bit, big-endian). */
function recordNonce(base: Uint8Array, index: number): Uint8Array {
  const nonce = base.slice();
  let seq = index;
  for (let i = 11; i >= 0 && seq > 0; i--) {
    nonce[i] = (nonce[i] ?? 0) ^ (seq & 0xff);
    seq = Math.floor(seq / 256);
  }
  return nonce;
}

/** RFC 8188 §2: all records, with their delimiters and padding checked and removed. */
export async function decryptAes128gcm(body: Uint8Array, ikmForKeyId: (keyId: Uint8Array) => Promise<Uint8Array>) {
  const header = parseHeader(body);
  const ikm = await ikmForKeyId(header.keyId);
  const cek = await hkdf(header.salt, ikm, "Content-Encoding: aes128gcm\0", 16);
  const baseNonce = await hkdf(header.salt, ikm, "Content-Encoding: nonce\0", 12);
  const key = await crypto.subtle.importKey("raw", cek, "AES-GCM", false, ["decrypt"]);
  const parts: Uint8Array[] = [];
  let offset = header.bodyOffset;
  for (let index = 0; ; index++) {
    const end = Math.min(offset + header.recordSize, body.length);
    const sealed = body.slice(offset, end);
    if (sealed.length <= TAG) throw new Error(`record ${index} is too short`);
    const record = new Uint8Array(
      await crypto.subtle.decrypt({ name: "AES-GCM", iv: recordNonce(baseNonce, index) }, key, sealed),
    );
    // The delimiter is the last non-zero octet; everything after it is padding.
    let last = record.length - 1;
    while (last >= 0 && record[last] === 0) last--;
    const delimiter = record[last];
    if (delimiter !== 1 && delimiter !== 2) throw new Error(`record ${index} has no delimiter`);
    parts.push(record.slice(0, last));
    const final = end === body.length;
    if (delimiter === 2 && !final) throw new Error("data after the last record");
    if (delimiter === 1 && final) throw new Error("truncated: the last record says another follows");
    if (delimiter === 1 && sealed.length !== header.recordSize) throw new Error("a non-final record is not rs long");
    if (final) break;
    offset = end;
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export interface UserAgentSecrets {
  /** The browser's ECDH private key (P-256, deriveBits). */
  privateKey: CryptoKey;
  /** Its public key, 65-octet uncompressed point (the subscription's p256dh). */
  publicKey: Uint8Array;
  /** 16 octets (the subscription's auth). */
  authSecret: Uint8Array;
}

/** RFC 8291 §3: what a browser does with a push message body. */
export async function decryptWebPush(body: Uint8Array, ua: UserAgentSecrets): Promise<Uint8Array> {
  if (parseHeader(body).recordSize < body.length - parseHeader(body).bodyOffset) {
    throw new Error("more than one record (RFC 8291 §4 allows one)");
  }
  return decryptAes128gcm(body, async (keyId) => {
    if (keyId.length !== 65 || keyId[0] !== 4) throw new Error("keyid is not an uncompressed P-256 point");
    const sender = await crypto.subtle.importKey("raw", keyId, { name: "ECDH", namedCurve: "P-256" }, false, []);
    // Not an inline literal: @cloudflare/workers-types spells the member `$public`, the runtime `public`.
    const agreement = { name: "ECDH", public: sender };
    const ecdh = new Uint8Array(await crypto.subtle.deriveBits(agreement, ua.privateKey, 256));
    const info = new Uint8Array([...new TextEncoder().encode("WebPush: info\0"), ...ua.publicKey, ...keyId]);
    return hkdf(ua.authSecret, ecdh, info, 32);
  });
}
