/**
 * AES-256-GCM for data that must be readable again (a client_secret_jwt secret, pushed request
 * parameters). The key is the DATA_ENCRYPTION_KEY secret. Stored form:
 * `v1.<iv b64url>.<ciphertext b64url>`; the `aad` binds a ciphertext to the row it belongs to,
 * so one cannot be moved to another.
 */
import { ConfigurationError } from "../config";
import { base64url, fromBase64url, utf8 } from "./encoding";

/**
 * A memo of a pure function of the secret's text (importing or deriving a key is slow on every
 * request): the same secret always gives the same key, so it holds no provider's options and no
 * request's data, and two providers (realms) with different secrets get different entries.
 * Kept per isolate, like the key itself would be.
 */
const keys = new Map<string, Promise<CryptoKey>>();

function importKey(secret: string | undefined): Promise<CryptoKey> {
  if (!secret) throw new ConfigurationError("DATA_ENCRYPTION_KEY is not set");
  let key = keys.get(secret);
  if (!key) {
    const raw = fromBase64url(secret);
    if (raw === undefined || raw.length !== 32)
      throw new ConfigurationError("DATA_ENCRYPTION_KEY must be 32 bytes, base64url");
    key = crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]);
    keys.set(secret, key);
  }
  return key;
}

export async function encrypt(secret: string | undefined, plaintext: string, aad: string): Promise<string> {
  const key = await importKey(secret);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const data = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: utf8.encode(aad) },
    key,
    utf8.encode(plaintext),
  );
  return `v1.${base64url(iv)}.${base64url(new Uint8Array(data))}`;
}

/** Returns undefined when the ciphertext is malformed, tampered with, or bound to another aad. */
export async function decrypt(secret: string | undefined, stored: string, aad: string): Promise<string | undefined> {
  const key = await importKey(secret);
  const [version, ivText, dataText] = stored.split(".");
  const iv = ivText === undefined ? undefined : fromBase64url(ivText);
  const data = dataText === undefined ? undefined : fromBase64url(dataText);
  if (version !== "v1" || !iv || !data) return undefined;
  try {
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv, additionalData: utf8.encode(aad) }, key, data);
    return utf8.decode(new Uint8Array(plain));
  } catch {
    return undefined;
  }
}
