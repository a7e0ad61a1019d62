/**
 * Web Push message encryption and VAPID, checked against the RFCs' published examples:
 * RFC 8188 §3.1 and §3.2 (the content coding), RFC 8291 §5 and Appendix A (Web Push), and
 * RFC 8292 (the VAPID JWT, verified with jose, an implementation independent of ours).
 */
import { decodeProtectedHeader, importJWK, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { base64url, fromBase64url } from "../src/crypto/encoding";
import {
  contentKeys,
  encryptPushMessage,
  encryptSingleRecord,
  MAX_PUSH_PLAINTEXT,
  PayloadTooLargeError,
  webPushIkm,
} from "../src/push/ece";
import { generateVapidKeys, InvalidVapidKeyError, importVapidSigningKey, vapidAuthorization } from "../src/push/vapid";
import { decryptAes128gcm, decryptWebPush } from "./helpers/ece-decrypt";

const b = (text: string): Uint8Array => {
  const bytes = fromBase64url(text);
  if (!bytes) throw new Error(`not base64url: ${text}`);
  return bytes;
};
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (s: string) => new TextEncoder().encode(s);

/** RFC 8291 §5 and Appendix A. */
const RFC8291 = {
  plaintext: "When I grow up, I want to be a watermelon",
  asPublic: "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8",
  asPrivate: "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw",
  uaPublic: "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
  uaPrivate: "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94",
  salt: "DGv6ra1nlYgDCS1FRnbzlw",
  auth: "BTBZMqHH6r4Tts7J_aSIgg",
  ecdhSecret: "kyrL1jIIOHEzg3sM2ZWRHDRB62YACZhhSlknJ672kSs",
  ikm: "S4lYMb_L0FxCeq0WhDx813KgSYqU26kOyzWUdsXYyrg",
  cek: "oIhVW04MRdy2XN9CiKLxTg",
  nonce: "4h_95klXJ5E_qnoN",
  body:
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_" +
    "yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
};

/** A P-256 ECDH key from the RFC's public point and private scalar. */
async function ecdhKey(publicKey: string, privateKey: string): Promise<CryptoKey> {
  const point = b(publicKey);
  return crypto.subtle.importKey(
    "jwk",
    { kty: "EC", crv: "P-256", x: base64url(point.slice(1, 33)), y: base64url(point.slice(33)), d: privateKey },
    { name: "ECDH", namedCurve: "P-256" },
    false,
    ["deriveBits"],
  );
}

describe("RFC 8188 aes128gcm content coding", () => {
  it("§3.1: 'I am the walrus' with rs 4096 and an empty keyid encrypts to the published body", async () => {
    const body = await encryptSingleRecord(bytes("I am the walrus"), {
      ikm: b("yqdlZ-tYemfogSmv7Ws5PQ"),
      salt: b("I1BsxtFttlv3u_Oo94xnmw"),
      keyId: new Uint8Array(0),
      recordSize: 4096,
    });
    expect(base64url(body)).toBe("I1BsxtFttlv3u_Oo94xnmwAAEAAA-NAVub2qFgBEuQKRapoZu-IxkIva3MEB1PD-ly8Thjg");
  });

  it("§3.1: CEK and NONCE are the published ones", async () => {
    const { cek, nonce } = await contentKeys(b("yqdlZ-tYemfogSmv7Ws5PQ"), b("I1BsxtFttlv3u_Oo94xnmw"));
    expect(base64url(cek)).toBe("_wniytB-ofscZDh4tbSjHw");
    expect(base64url(nonce)).toBe("Bcs8gkIRKLI8GeI8");
  });

  it("§3.1: the receiver helper decrypts the published body", async () => {
    const body = b("I1BsxtFttlv3u_Oo94xnmwAAEAAA-NAVub2qFgBEuQKRapoZu-IxkIva3MEB1PD-ly8Thjg");
    expect(text(await decryptAes128gcm(body, async () => b("yqdlZ-tYemfogSmv7Ws5PQ")))).toBe("I am the walrus");
  });

  it("§3.2: the receiver helper decrypts two records of rs 25 with keyid 'a1' and padding", async () => {
    const body = b(
      "uNCkWiNYzKTnBN9ji3-qWAAAABkCYTHOG8chz_gnvgOqdGYovxyjuqRyJFjEDyoF1Fvkj6hQPdPHI51OEUKEpgz3SsLWIqS_uA",
    );
    let keyId = "";
    const plain = await decryptAes128gcm(body, async (id) => {
      keyId = text(id);
      return b("BO3ZVPxUlnLORbVGMpbT1Q");
    });
    expect(keyId).toBe("a1");
    expect(text(plain)).toBe("I am the walrus");
  });

  it("§2: a record that does not fit rs is refused, not split", async () => {
    const params = { ikm: new Uint8Array(16), salt: new Uint8Array(16), keyId: new Uint8Array(0), recordSize: 32 };
    await expect(encryptSingleRecord(new Uint8Array(16), params)).rejects.toThrow(PayloadTooLargeError);
    // 15 octets + delimiter + 16-octet tag = 32: the largest that fits.
    await expect(encryptSingleRecord(new Uint8Array(15), params)).resolves.toHaveLength(21 + 32);
  });

  it("§2.2: a flipped ciphertext bit fails authentication at the receiver", async () => {
    const body = b("I1BsxtFttlv3u_Oo94xnmwAAEAAA-NAVub2qFgBEuQKRapoZu-IxkIva3MEB1PD-ly8Thjg");
    body[30] = (body[30] ?? 0) ^ 1;
    await expect(decryptAes128gcm(body, async () => b("yqdlZ-tYemfogSmv7Ws5PQ"))).rejects.toThrow();
  });
});

describe("RFC 8291 Web Push message encryption", () => {
  it("Appendix A: the ECDH secret, IKM, CEK and NONCE are the published ones", async () => {
    const ua = await crypto.subtle.importKey(
      "raw",
      b(RFC8291.uaPublic),
      { name: "ECDH", namedCurve: "P-256" },
      false,
      [],
    );
    const asKey = await ecdhKey(RFC8291.asPublic, RFC8291.asPrivate);
    const agreement = { name: "ECDH", public: ua }; // a variable: workers-types spells it `$public`
    const ecdh = new Uint8Array(await crypto.subtle.deriveBits(agreement, asKey, 256));
    expect(base64url(ecdh)).toBe(RFC8291.ecdhSecret);
    const ikm = await webPushIkm(ecdh, b(RFC8291.auth), b(RFC8291.uaPublic), b(RFC8291.asPublic));
    expect(base64url(ikm)).toBe(RFC8291.ikm);
    const { cek, nonce } = await contentKeys(ikm, b(RFC8291.salt));
    expect(base64url(cek)).toBe(RFC8291.cek);
    expect(base64url(nonce)).toBe(RFC8291.nonce);
  });

  it("§5: the watermelon message encrypts to the published body (no padding, rs 4096)", async () => {
    const body = await encryptPushMessage(
      { p256dh: b(RFC8291.uaPublic), auth: b(RFC8291.auth) },
      bytes(RFC8291.plaintext),
      {
        salt: b(RFC8291.salt),
        sender: { privateKey: await ecdhKey(RFC8291.asPublic, RFC8291.asPrivate), publicKey: b(RFC8291.asPublic) },
        padding: 0,
      },
    );
    expect(base64url(body)).toBe(RFC8291.body);
  });

  it("§5: the receiver helper, holding the user agent's private key, decrypts the published body", async () => {
    const plain = await decryptWebPush(b(RFC8291.body), {
      privateKey: await ecdhKey(RFC8291.uaPublic, RFC8291.uaPrivate),
      publicKey: b(RFC8291.uaPublic),
      authSecret: b(RFC8291.auth),
    });
    expect(text(plain)).toBe(RFC8291.plaintext);
  });

  it("§3: with a fresh salt and ephemeral key each time, two messages differ and both decrypt", async () => {
    const ua = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
      "deriveBits",
    ])) as CryptoKeyPair;
    const publicKey = new Uint8Array((await crypto.subtle.exportKey("raw", ua.publicKey)) as ArrayBuffer);
    const authSecret = crypto.getRandomValues(new Uint8Array(16));
    const target = { p256dh: publicKey, auth: authSecret };
    const [one, two] = await Promise.all([
      encryptPushMessage(target, bytes("same")),
      encryptPushMessage(target, bytes("same")),
    ]);
    expect(base64url(one.slice(0, 16))).not.toBe(base64url(two.slice(0, 16)));
    expect(base64url(one.slice(21, 86))).not.toBe(base64url(two.slice(21, 86)));
    for (const body of [one, two]) {
      expect(text(await decryptWebPush(body, { privateKey: ua.privateKey, publicKey, authSecret }))).toBe("same");
    }
  });

  it("§4: padding hides the length: 10 and 200 octets give bodies of the same size, at most 4096 + header", async () => {
    const ua = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
      "deriveBits",
    ])) as CryptoKeyPair;
    const target = {
      p256dh: new Uint8Array((await crypto.subtle.exportKey("raw", ua.publicKey)) as ArrayBuffer),
      auth: new Uint8Array(16),
    };
    const short = await encryptPushMessage(target, new Uint8Array(10));
    const long = await encryptPushMessage(target, new Uint8Array(200));
    expect(short.length).toBe(long.length);
    const largest = await encryptPushMessage(target, new Uint8Array(MAX_PUSH_PLAINTEXT));
    expect(largest.length).toBe(86 + 4096 - 86);
  });

  it("§4: a plaintext over 3993 octets is refused", async () => {
    const target = { p256dh: b(RFC8291.uaPublic), auth: b(RFC8291.auth) };
    await expect(encryptPushMessage(target, new Uint8Array(MAX_PUSH_PLAINTEXT + 1))).rejects.toThrow(
      PayloadTooLargeError,
    );
  });

  it("§3.1: a p256dh that is not on the curve is refused", async () => {
    const point = b(RFC8291.uaPublic);
    point[40] = (point[40] ?? 0) ^ 0xff;
    await expect(encryptPushMessage({ p256dh: point, auth: b(RFC8291.auth) }, bytes("x"))).rejects.toThrow();
  });
});

describe("RFC 8292 VAPID", () => {
  const subject = "mailto:ops@example.com";

  it("generated keys: a 65-octet uncompressed point and a 32-octet d that belong together", async () => {
    const keys = await generateVapidKeys();
    const point = b(keys.publicKey);
    expect(point).toHaveLength(65);
    expect(point[0]).toBe(4);
    expect(b(keys.privateKey)).toHaveLength(32);
    await expect(importVapidSigningKey(keys)).resolves.toBeDefined();
    const other = await generateVapidKeys();
    expect(other.publicKey).not.toBe(keys.publicKey);
  });

  it("a private key from another pair is refused at import", async () => {
    const [one, two] = await Promise.all([generateVapidKeys(), generateVapidKeys()]);
    await expect(importVapidSigningKey({ publicKey: one.publicKey, privateKey: two.privateKey })).rejects.toThrow(
      InvalidVapidKeyError,
    );
    await expect(importVapidSigningKey({ publicKey: "AAAA", privateKey: one.privateKey })).rejects.toThrow(
      InvalidVapidKeyError,
    );
  });

  it("§3: Authorization is 'vapid t=<ES256 JWT>, k=<public key>'; the JWT verifies under k with aud = endpoint origin, exp ≤ 24 h, sub", async () => {
    const keys = await generateVapidKeys();
    const now = Math.floor(Date.now() / 1000);
    const header = await vapidAuthorization(new URL("https://push.example.net/send/abc?x=1"), { ...keys, subject });
    const match = /^vapid t=([^,\s]+), k=([A-Za-z0-9_-]+)$/.exec(header);
    expect(match).not.toBeNull();
    const [, token = "", k = ""] = match ?? [];
    expect(k).toBe(keys.publicKey);
    expect(decodeProtectedHeader(token).alg).toBe("ES256");
    const point = b(k);
    const key = await importJWK(
      { kty: "EC", crv: "P-256", x: base64url(point.slice(1, 33)), y: base64url(point.slice(33)) },
      "ES256",
    );
    const { payload } = await jwtVerify(token, key, { audience: "https://push.example.net" });
    expect(payload.sub).toBe(subject);
    expect(payload.exp).toBeGreaterThan(now);
    expect(payload.exp).toBeLessThanOrEqual(now + 24 * 60 * 60);
  });

  it("§2.1: a subject that is not a mailto: or https: URI is refused", async () => {
    const keys = await generateVapidKeys();
    for (const bad of ["ops@example.com", "http://example.com", ""]) {
      await expect(
        vapidAuthorization(new URL("https://push.example.net/x"), { ...keys, subject: bad }),
      ).rejects.toThrow(InvalidVapidKeyError);
    }
  });
});
