/**
 * A browser's push subscription (W3C Push API `PushSubscription.toJSON()`):
 * `{"endpoint": "https://…", "expirationTime": null, "keys": {"p256dh": "…", "auth": "…"}}`.
 * It arrives from a signed-in user's browser and is stored and read back from storage, so both
 * paths parse it here, never cast it.
 *
 * The endpoint is where edge-op will POST, chosen by whoever holds the session: it must be https
 * (RFC 8030 §8: push messages and their metadata need confidentiality) and may not name a
 * loopback, private or link-local address (the same rule as notification endpoints,
 * src/http/public-address.ts). Development (`allowLoopbackHttp`, set by `npm start`) also
 * accepts http and https on localhost / 127.0.0.1 / [::1], so the flow runs offline.
 */
import { fromBase64url } from "../crypto/encoding";
import { destinationProblem, nonPublicHost } from "../outbound/public-address";

export interface PushSubscription {
  endpoint: string;
  keys: {
    /** base64url, 65-octet uncompressed P-256 point (RFC 8291 §3.1 ua_public). */
    p256dh: string;
    /** base64url, 16 octets (RFC 8291 §3.2). */
    auth: string;
  };
  /** Epoch milliseconds after which the browser drops it, or null (the Push API's form). */
  expirationTime: number | null;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export interface EndpointPolicy {
  /** Development only: http (and https) on a loopback host. */
  allowLoopbackHttp: boolean;
}

/** Push services' endpoints are a few hundred characters; anything far longer is not one. */
export const MAX_ENDPOINT_LENGTH = 2048;

const fail = <T>(error: string): Parsed<T> => ({ ok: false, error });

/** The endpoint URL, if edge-op may POST to it. */
export function parsePushEndpoint(input: unknown, policy: EndpointPolicy): Parsed<string> {
  if (typeof input !== "string" || input.length === 0) return fail("endpoint must be a non-empty string");
  if (input.length > MAX_ENDPOINT_LENGTH) return fail(`endpoint must be at most ${MAX_ENDPOINT_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    return fail("endpoint must be an absolute URL");
  }
  if (url.username || url.password) return fail("endpoint must not carry credentials");
  if (url.hash) return fail("endpoint must not have a fragment");
  const loopback = nonPublicHost(url.hostname)?.loopback === true;
  if (url.protocol !== "https:" && !(url.protocol === "http:" && policy.allowLoopbackHttp && loopback)) {
    return fail("endpoint must be an https URL (RFC 8030 §8)");
  }
  const problem = destinationProblem(url, policy.allowLoopbackHttp);
  if (problem) return fail(`endpoint ${problem}`);
  // The URL's own serialisation: what is stored is what fetch() will use.
  return { ok: true, value: url.href };
}

/** base64url with or without `=` padding (browsers differ), to exactly `length` octets. */
function keyBytes(input: unknown, length: number): Uint8Array | undefined {
  if (typeof input !== "string" || input.length > 200) return undefined;
  const bytes = fromBase64url(input.replace(/={1,2}$/, ""));
  return bytes?.length === length ? bytes : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Parses a subscription; `p256dh` must be a point on P-256 (checked by importing it), so a
 * subscription that could never be encrypted to is refused when it is added, not at every push.
 * Unknown members are ignored, as the Push API may add some.
 */
export async function parsePushSubscription(input: unknown, policy: EndpointPolicy): Promise<Parsed<PushSubscription>> {
  if (!isRecord(input)) return fail("a push subscription must be a JSON object");
  const endpoint = parsePushEndpoint(input.endpoint, policy);
  if (!endpoint.ok) return endpoint;
  const keys = input.keys;
  if (!isRecord(keys)) return fail("keys must be an object with p256dh and auth");
  const p256dh = keyBytes(keys.p256dh, 65);
  if (p256dh?.[0] !== 0x04) return fail("keys.p256dh must be a base64url 65-octet uncompressed P-256 point");
  const auth = keyBytes(keys.auth, 16);
  if (!auth) return fail("keys.auth must be 16 octets, base64url");
  try {
    await crypto.subtle.importKey("raw", p256dh, { name: "ECDH", namedCurve: "P-256" }, false, []);
  } catch {
    return fail("keys.p256dh is not a point on P-256");
  }
  const expirationTime = input.expirationTime ?? null;
  if (expirationTime !== null && !(typeof expirationTime === "number" && Number.isSafeInteger(expirationTime))) {
    return fail("expirationTime must be null or an integer (epoch milliseconds)");
  }
  return {
    ok: true,
    value: {
      endpoint: endpoint.value,
      // Stored unpadded, the form everything else in edge-op uses.
      keys: { p256dh: String(keys.p256dh).replace(/=+$/, ""), auth: String(keys.auth).replace(/=+$/, "") },
      expirationTime,
    },
  };
}

/** The subscription's keys as octets, for encryption. */
export function userAgentKeys(subscription: PushSubscription): { p256dh: Uint8Array; auth: Uint8Array } {
  const p256dh = keyBytes(subscription.keys.p256dh, 65);
  const auth = keyBytes(subscription.keys.auth, 16);
  if (!p256dh || !auth) throw new Error("the subscription's keys are malformed");
  return { p256dh, auth };
}
