/**
 * Push subscriptions as the browser sends them (W3C Push API toJSON), the push message built for
 * one (RFC 8030 §5, RFC 8291, RFC 8292) and how a push service's answer is classified.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { base64url } from "../src/crypto/encoding";
import { cibaPushNotice } from "../src/push/ciba-notice";
import { openSubscription, sealSubscription, subscriptionId } from "../src/push/sealed-subscription";
import { buildPushRequest, classifyPushResponse, parseRetryAfter } from "../src/push/send";
import { MAX_ENDPOINT_LENGTH, type PushSubscription, parsePushSubscription } from "../src/push/subscription";
import { generateVapidKeys } from "../src/push/vapid";

const production = { allowLoopbackHttp: false };
const development = { allowLoopbackHttp: true };

async function browserKeys() {
  const pair = (await crypto.subtle.generateKey({ name: "ECDH", namedCurve: "P-256" }, true, [
    "deriveBits",
  ])) as CryptoKeyPair;
  const p256dh = base64url(new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer));
  return { p256dh, auth: base64url(crypto.getRandomValues(new Uint8Array(16))) };
}

describe("parsing a push subscription", () => {
  it("accepts the browser's PushSubscription JSON and keeps endpoint, keys and expirationTime", async () => {
    const keys = await browserKeys();
    const parsed = await parsePushSubscription(
      { endpoint: "https://push.example.net/wpush/v2/abc", expirationTime: null, keys },
      production,
    );
    expect(parsed).toEqual({
      ok: true,
      value: { endpoint: "https://push.example.net/wpush/v2/abc", expirationTime: null, keys },
    });
  });

  it("accepts padded base64url keys and stores them unpadded", async () => {
    const keys = await browserKeys();
    const parsed = await parsePushSubscription(
      { endpoint: "https://push.example.net/x", keys: { p256dh: `${keys.p256dh}=`, auth: `${keys.auth}==` } },
      production,
    );
    expect(parsed.ok && parsed.value.keys).toEqual(keys);
  });

  it("RFC 8030 §8: an http endpoint is refused when deployed", async () => {
    const keys = await browserKeys();
    for (const endpoint of ["http://push.example.net/x", "http://localhost:9000/x", "http://127.0.0.1:9000/x"]) {
      const parsed = await parsePushSubscription({ endpoint, keys }, production);
      expect(parsed).toEqual({ ok: false, error: "endpoint must be an https URL (RFC 8030 §8)" });
    }
  });

  it("development accepts http only on loopback (localhost, 127.0.0.1, [::1])", async () => {
    const keys = await browserKeys();
    for (const endpoint of ["http://localhost:9000/x", "http://127.0.0.1:9000/x", "http://[::1]:9000/x"]) {
      expect((await parsePushSubscription({ endpoint, keys }, development)).ok).toBe(true);
    }
    for (const endpoint of ["http://push.example.net/x", "http://10.0.0.1/x", "http://192.168.1.2/x"]) {
      expect((await parsePushSubscription({ endpoint, keys }, development)).ok).toBe(false);
    }
  });

  it("a non-public IP literal is refused over https too, and loopback unless in development", async () => {
    const keys = await browserKeys();
    for (const endpoint of [
      "https://169.254.169.254/x",
      "https://10.1.2.3/x",
      "https://[fd00::1]/x",
      "https://0x7f.1/x",
    ]) {
      const parsed = await parsePushSubscription({ endpoint, keys }, production);
      expect(parsed.ok).toBe(false);
      expect(!parsed.ok && parsed.error).toMatch(/non-public address/);
    }
    expect((await parsePushSubscription({ endpoint: "https://localhost/x", keys }, development)).ok).toBe(true);
  });

  it("refuses endpoints that are not URLs, too long, with credentials or a fragment", async () => {
    const keys = await browserKeys();
    const long = `https://push.example.net/${"a".repeat(MAX_ENDPOINT_LENGTH)}`;
    for (const endpoint of [
      "",
      "push.example.net/x",
      long,
      "https://u:p@push.example.net/x",
      "https://p.example/x#f",
      42,
    ]) {
      expect((await parsePushSubscription({ endpoint, keys }, production)).ok).toBe(false);
    }
  });

  it("RFC 8291 §3.1/§3.2: p256dh must be a 65-octet uncompressed point on P-256, auth 16 octets", async () => {
    const keys = await browserKeys();
    const endpoint = "https://push.example.net/x";
    const compressed = base64url(new Uint8Array([3, ...new Uint8Array(32)]));
    const offCurve = base64url(new Uint8Array([4, ...new Uint8Array(64).fill(1)]));
    const cases: [unknown, RegExp][] = [
      [{ ...keys, p256dh: compressed }, /uncompressed/],
      [{ ...keys, p256dh: offCurve }, /not a point on P-256/],
      [{ ...keys, p256dh: "not base64!" }, /uncompressed/],
      [{ ...keys, auth: base64url(new Uint8Array(15)) }, /16 octets/],
      [{ ...keys, auth: base64url(new Uint8Array(17)) }, /16 octets/],
      [{ p256dh: keys.p256dh }, /16 octets/],
      ["keys", /must be an object/],
      [undefined, /must be an object/],
    ];
    for (const [badKeys, error] of cases) {
      const parsed = await parsePushSubscription({ endpoint, keys: badKeys }, production);
      expect(parsed.ok).toBe(false);
      expect(!parsed.ok && parsed.error).toMatch(error);
    }
  });

  it("refuses a body that is not an object, and an expirationTime that is not null or an integer", async () => {
    const keys = await browserKeys();
    for (const input of [null, [], "x", 1]) expect((await parsePushSubscription(input, production)).ok).toBe(false);
    for (const expirationTime of ["soon", 1.5, {}]) {
      const parsed = await parsePushSubscription(
        { endpoint: "https://push.example.net/x", keys, expirationTime },
        production,
      );
      expect(parsed.ok).toBe(false);
    }
  });
});

describe("the push message (RFC 8030 §5)", () => {
  it("POSTs to the endpoint with aes128gcm, TTL, Urgency, Topic and a VAPID Authorization; redirects not followed", async () => {
    const subscription: PushSubscription = {
      endpoint: "https://push.example.net/send/abc",
      keys: await browserKeys(),
      expirationTime: null,
    };
    const vapid = { ...(await generateVapidKeys()), subject: "mailto:ops@example.com" };
    const request = await buildPushRequest(
      subscription,
      { hello: "world" },
      { vapid, ttl: 90, urgency: "high", topic: "t1" },
    );
    expect(request.method).toBe("POST");
    expect(request.url).toBe(subscription.endpoint);
    expect(request.redirect).toBe("manual");
    expect(request.headers.get("content-encoding")).toBe("aes128gcm");
    expect(request.headers.get("content-type")).toBe("application/octet-stream");
    expect(request.headers.get("ttl")).toBe("90");
    expect(request.headers.get("urgency")).toBe("high");
    expect(request.headers.get("topic")).toBe("t1");
    expect(request.headers.get("authorization")).toMatch(
      new RegExp(`^vapid t=[\\w-]+\\.[\\w-]+\\.[\\w-]+, k=${vapid.publicKey}$`),
    );
    const body = new Uint8Array(await request.arrayBuffer());
    // One record: the 86-octet header and one padded record of 256 + 16 octets.
    expect(body.length).toBe(86 + 256 + 16);
  });

  it("refuses a negative or fractional TTL and a topic outside RFC 8030 §5.4", async () => {
    const subscription: PushSubscription = {
      endpoint: "https://p.example/x",
      keys: await browserKeys(),
      expirationTime: null,
    };
    const vapid = { ...(await generateVapidKeys()), subject: "mailto:ops@example.com" };
    await expect(buildPushRequest(subscription, {}, { vapid, ttl: -1 })).rejects.toThrow(/TTL/);
    await expect(buildPushRequest(subscription, {}, { vapid, ttl: 1.5 })).rejects.toThrow(/TTL/);
    await expect(buildPushRequest(subscription, {}, { vapid, ttl: 1, topic: "a".repeat(33) })).rejects.toThrow(/topic/);
    await expect(buildPushRequest(subscription, {}, { vapid, ttl: 1, topic: "no spaces" })).rejects.toThrow(/topic/);
  });
});

describe("classifying the push service's answer", () => {
  const answer = (status: number, headers: Record<string, string> = {}) =>
    classifyPushResponse(new Response(null, { status, headers }), Date.parse("2026-01-01T00:00:00Z"));

  it("RFC 8030 §5: 201 Created (and any 2xx) is delivered", () => {
    expect(answer(201)).toEqual({ kind: "delivered", status: 201 });
    expect(answer(202).kind).toBe("delivered");
  });

  it("RFC 8030 §7.3: 404 and 410 mean the subscription is gone", () => {
    expect(answer(404)).toEqual({ kind: "gone", status: 404 });
    expect(answer(410)).toEqual({ kind: "gone", status: 410 });
  });

  it("429 and 5xx are retried, with Retry-After in seconds or as an HTTP-date (RFC 9110 §10.2.3)", () => {
    expect(answer(429, { "retry-after": "120" })).toMatchObject({ kind: "retry", status: 429, retryAfter: 120 });
    expect(answer(503, { "retry-after": "Thu, 01 Jan 2026 00:01:00 GMT" })).toMatchObject({ retryAfter: 60 });
    expect(answer(500)).toMatchObject({ kind: "retry", status: 500 });
    expect(answer(500)).not.toHaveProperty("retryAfter");
    expect(answer(502, { "retry-after": "soon" })).not.toHaveProperty("retryAfter");
  });

  it("other answers fail without retry: 400, 401, 403 (VAPID), 413 (too large), a redirect", () => {
    for (const status of [400, 401, 403, 413, 301, 302])
      expect(answer(status)).toMatchObject({ kind: "failed", status });
  });

  it("Retry-After in the past counts as 0; garbage is ignored", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfter("Wed, 31 Dec 2025 23:00:00 GMT", now)).toBe(0);
    expect(parseRetryAfter("-5", now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

describe("the CIBA notice", () => {
  const input = {
    internalId: "a".repeat(64),
    clientName: "Example Bank",
    bindingMessage: "W4SCT",
    requestedScopes: ["openid", "payments"],
    expiresAt: 1_000_120,
    approvalUrl: "https://op.example/ciba/requests/aaaa",
  };

  it("carries binding_message, client_name, scopes, expires_at and approval_url; TTL is the remaining life; Urgency high", () => {
    const built = cibaPushNotice(input, 1_000_000);
    expect(built?.notice).toEqual({
      type: "ciba_request",
      request_id: input.internalId,
      client_name: "Example Bank",
      binding_message: "W4SCT",
      scopes: ["openid", "payments"],
      authorization_details_text: [],
      expires_at: 1_000_120,
      approval_url: input.approvalUrl,
    });
    expect(built?.options).toEqual({ ttl: 120, urgency: "high", topic: "a".repeat(32) });
  });

  it("RFC 9396: carries each authorization detail as the sentence the approval page shows", () => {
    const text = ["Pay €42.00 to ACME Ltd (IBAN …1234)"];
    expect(
      cibaPushNotice({ ...input, authorizationDetailsText: text }, 1_000_000)?.notice.authorization_details_text,
    ).toEqual(text);
  });

  it("an expired request is not pushed", () => {
    expect(cibaPushNotice(input, 1_000_120)).toBeUndefined();
  });

  it("a notice too large for one record drops its scope list rather than fail", () => {
    const scopes = Array.from({ length: 400 }, (_, i) => `scope-${i}`);
    const built = cibaPushNotice({ ...input, requestedScopes: scopes }, 1_000_000);
    expect(built?.notice.scopes).toEqual([]);
    expect(built?.notice.binding_message).toBe("W4SCT");
  });

  it("a notice still too large without scopes drops the details' sentences too (the page shows them)", () => {
    const text = Array.from({ length: 120 }, (_, i) => `Pay €${i}.00 to a payee with a long name number ${i}`);
    const built = cibaPushNotice({ ...input, authorizationDetailsText: text }, 1_000_000);
    expect(built?.notice.authorization_details_text).toEqual([]);
    expect(built?.notice.request_id).toBe(input.internalId);
  });
});

describe("a subscription sealed for storage", () => {
  const subscription = async (endpoint = "https://push.example.net/send/abc"): Promise<PushSubscription> => ({
    endpoint,
    keys: await browserKeys(),
    expirationTime: null,
  });

  it("is encrypted (no endpoint or key in the clear), keyed by SHA-256 of the endpoint, and opens for its user", async () => {
    const original = await subscription();
    const sealed = await sealSubscription(env.DATA_ENCRYPTION_KEY, "alice", original);
    expect(sealed.id).toBe(await subscriptionId(original.endpoint));
    expect(sealed.id).toMatch(/^[0-9a-f]{64}$/);
    expect(sealed.service).toBe("push.example.net");
    for (const secret of [original.endpoint, original.keys.auth, original.keys.p256dh, "push.example.net"]) {
      expect(sealed.sealed).not.toContain(secret);
    }
    expect(await openSubscription(env.DATA_ENCRYPTION_KEY, "alice", sealed, production)).toEqual(original);
  });

  it("does not open for another user or under another id (the additional data binds it)", async () => {
    const sealed = await sealSubscription(env.DATA_ENCRYPTION_KEY, "alice", await subscription());
    expect(await openSubscription(env.DATA_ENCRYPTION_KEY, "bob", sealed, production)).toBeUndefined();
    const other = await sealSubscription(
      env.DATA_ENCRYPTION_KEY,
      "alice",
      await subscription("https://push.example.net/x"),
    );
    expect(
      await openSubscription(env.DATA_ENCRYPTION_KEY, "alice", { ...sealed, id: other.id }, production),
    ).toBeUndefined();
  });

  it("a loopback endpoint stored in development is not used once development mode is off", async () => {
    const sealed = await sealSubscription(env.DATA_ENCRYPTION_KEY, "alice", await subscription("http://127.0.0.1:9/p"));
    expect(await openSubscription(env.DATA_ENCRYPTION_KEY, "alice", sealed, development)).toBeDefined();
    expect(await openSubscription(env.DATA_ENCRYPTION_KEY, "alice", sealed, production)).toBeUndefined();
  });
});
