/**
 * Server-provided DPoP nonces (RFC 9449 §8, §9) without storage: a nonce is
 * HMAC-SHA256(key, window number) in base64url, where the window number is the current time
 * divided by the window length. The nonce of the current window and of the previous one are
 * accepted, so a nonce stays usable for at least one window and at most two. Any Worker
 * anywhere computes the same nonces from the same key: nothing is written per request, and
 * nothing needs to be shared.
 *
 * The key is derived from DATA_ENCRYPTION_KEY (src/crypto/derived-keys.ts, its own purpose), so
 * nonces are unpredictable (§8: "Nonce values MUST be unpredictable") to anyone without it.
 * One nonce serves the whole provider (token endpoint and resources alike): clients keep one
 * nonce per server, and edge-op is one server to them.
 */
import { derivedSecret } from "../crypto/derived-keys";
import { base64url, fromBase64url, utf8 } from "../crypto/encoding";
import { timingSafeEqual } from "../crypto/hash";

export interface DpopNonceCheck {
  /** The nonce is this server's, of the current or the previous window. */
  valid: boolean;
  /** It is the current window's: otherwise the response should carry a fresher one (§8.2). */
  current: boolean;
  /**
   * Epoch seconds after which this nonce is refused: a proof carrying it cannot be accepted
   * later, so that is how long its `jti` must be remembered (RFC 9449 §11.1).
   */
  acceptableUntil: number;
}

export interface DpopNonceSource {
  /** RFC 9449 §8: the nonce to send in `DPoP-Nonce` now. */
  current(): Promise<string>;
  /** RFC 9449 §4.3 (10): is `nonce` one this server provided recently? */
  check(nonce: string): Promise<DpopNonceCheck>;
}

export interface DpopNonceOptions {
  /** Length of a window in seconds (the DPOP_NONCE_WINDOW setting). */
  window: number;
  /** Epoch seconds; only tests pass another clock, to cross a window boundary. */
  now?: () => number;
}

/** RFC 9449 §8 syntax: `nonce = 1*NQCHAR`; ours are 43 base64url characters. */
const NONCE_SYNTAX = /^[A-Za-z0-9_-]{43}$/;

/**
 * RFC 9449 §8, §11.1: stateless nonces keyed from `dataEncryptionKey` (DATA_ENCRYPTION_KEY).
 * Create one per provider: it keeps the imported HMAC key.
 */
export function statelessDpopNonces(dataEncryptionKey: string | undefined, options: DpopNonceOptions): DpopNonceSource {
  if (!Number.isInteger(options.window) || options.window < 1)
    throw new RangeError("window must be a positive integer");
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  let key: Promise<CryptoKey> | undefined;
  const hmacKey = () => {
    key ??= derivedSecret(dataEncryptionKey, "dpop-nonce").then((secret) => {
      const raw = fromBase64url(secret);
      // Never fall back to a weaker key: derivedSecret always yields 32 bytes of base64url.
      if (raw?.length !== 32) throw new Error("the derived DPoP nonce key is not 32 bytes");
      return crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    });
    return key;
  };
  const nonceOf = async (windowNumber: number) =>
    base64url(
      new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(), utf8.encode(`dpop-nonce ${windowNumber}`))),
    );
  const windowNow = () => Math.floor(now() / options.window);

  return {
    current: () => nonceOf(windowNow()),
    async check(nonce) {
      const thisWindow = windowNow();
      // Both are computed and compared in constant time whatever the input, so the time taken
      // tells nothing about which window (if any) a guess was close to.
      const [current, previous] = await Promise.all([nonceOf(thisWindow), nonceOf(thisWindow - 1)]);
      const syntaxOk = NONCE_SYNTAX.test(nonce);
      const [isCurrent, isPrevious] = await Promise.all([
        timingSafeEqual(nonce, current),
        timingSafeEqual(nonce, previous),
      ]);
      const valid = syntaxOk && (isCurrent || isPrevious);
      // A nonce of window w is accepted through window w + 1, i.e. until (w + 2) * window - 1.
      const issuedIn = isCurrent ? thisWindow : thisWindow - 1;
      return { valid, current: valid && isCurrent, acceptableUntil: (issuedIn + 2) * options.window - 1 };
    },
  };
}
