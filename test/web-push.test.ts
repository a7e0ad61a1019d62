/**
 * Web Push end to end, from inside workerd to a real HTTP push service on loopback
 * (test/node/push-service.ts) that holds the browser's P-256 key and auth secret: the service
 * verifies the VAPID JWT against the key the subscription was made with and decrypts the
 * message; its answers are classified as RFC 8030 says. (Issue 16's "done when", without the
 * routes, which wait for issue 13.)
 */
import { describe, expect, it } from "vitest";
import { cibaPushNotice } from "../src/push/ciba-notice";
import { sendPush } from "../src/push/send";
import { type PushSubscription, parsePushSubscription } from "../src/push/subscription";
import { generateVapidKeys, type VapidCredentials } from "../src/push/vapid";
import {
  programPushService,
  pushesReceived,
  pushServiceOrigin,
  subscribeToFakePushService,
} from "./helpers/push-service";

const subject = "mailto:ops@edge-op.example";

/** A VAPID key pair and a subscription the fake service made for it, parsed as edge-op will. */
async function subscribed(): Promise<{ vapid: VapidCredentials; id: string; subscription: PushSubscription }> {
  const vapid = { ...(await generateVapidKeys()), subject };
  const fake = await subscribeToFakePushService(vapid.publicKey);
  // The fake service listens on http://127.0.0.1: accepted only with the development switch.
  const parsed = await parsePushSubscription(fake.subscription, { allowLoopbackHttp: true });
  if (!parsed.ok) throw new Error(parsed.error);
  return { vapid, id: fake.id, subscription: parsed.value };
}

const now = Math.floor(Date.now() / 1000);
const request = {
  internalId: "b".repeat(64),
  clientName: "Kiosk 9",
  bindingMessage: "Pay 12.00 EUR to Example Shop",
  requestedScopes: ["openid", "payments"],
  expiresAt: now + 300,
  approvalUrl: "https://op.example/ciba/requests/bbbb",
};

describe("a CIBA notice pushed to the fake push service", () => {
  it("RFC 8030 §5: the service answers 201 and the message is delivered", async () => {
    const { vapid, subscription } = await subscribed();
    const built = cibaPushNotice(request);
    if (!built) throw new Error("not built");
    expect(await sendPush(subscription, built.notice, { vapid, ...built.options })).toEqual({
      kind: "delivered",
      status: 201,
    });
  });

  it("RFC 8291: the receiver decrypts the JSON notice with its private key and auth secret, binding message included", async () => {
    const { vapid, id, subscription } = await subscribed();
    const built = cibaPushNotice(request);
    if (!built) throw new Error("not built");
    await sendPush(subscription, built.notice, { vapid, ...built.options });
    const [message] = await pushesReceived(id);
    expect(message?.refused).toBeUndefined();
    expect(message?.contentEncoding).toBe("aes128gcm");
    expect(JSON.parse(message?.payload ?? "null")).toEqual(built.notice);
    expect(JSON.parse(message?.payload ?? "null").binding_message).toBe("Pay 12.00 EUR to Example Shop");
  });

  it("RFC 8292: the VAPID JWT verifies against the subscription's key: ES256, aud the service origin, sub, exp ≤ 24 h", async () => {
    const { vapid, id, subscription } = await subscribed();
    await sendPush(subscription, { hello: 1 }, { vapid, ttl: 60 });
    const [message] = await pushesReceived(id);
    expect(message?.vapid?.k).toBe(vapid.publicKey);
    expect(message?.vapid?.alg).toBe("ES256");
    expect(message?.vapid?.claims.aud).toBe(pushServiceOrigin());
    expect(message?.vapid?.claims.sub).toBe(subject);
  });

  it("RFC 8030 §5.2/§5.3: TTL is the request's remaining life and Urgency is high", async () => {
    const { vapid, id, subscription } = await subscribed();
    const built = cibaPushNotice(request, now);
    if (!built) throw new Error("not built");
    await sendPush(subscription, built.notice, { vapid, ...built.options });
    const [message] = await pushesReceived(id);
    expect(message?.ttl).toBe("300");
    expect(message?.urgency).toBe("high");
  });

  it("RFC 8292 §4.2: signed with another VAPID key than the subscription's, the service refuses (403) and it is failed, not retried", async () => {
    const { id, subscription } = await subscribed();
    const stranger = { ...(await generateVapidKeys()), subject };
    expect(await sendPush(subscription, { hello: 1 }, { vapid: stranger, ttl: 60 })).toEqual({
      kind: "failed",
      status: 403,
      reason: "push service answered 403",
    });
    const [message] = await pushesReceived(id);
    expect(message?.refused).toMatch(/applicationServerKey/);
  });

  it("RFC 8030 §7.3: 410 Gone classifies the subscription as gone (to be deleted)", async () => {
    const { vapid, id, subscription } = await subscribed();
    await programPushService(id, { status: 410 });
    expect(await sendPush(subscription, { hello: 1 }, { vapid, ttl: 60 })).toEqual({ kind: "gone", status: 410 });
  });

  it("an endpoint the service does not know (404) is gone too", async () => {
    const { vapid, subscription } = await subscribed();
    const unknown = { ...subscription, endpoint: `${pushServiceOrigin()}/push/no-such-subscription` };
    expect(await sendPush(unknown, { hello: 1 }, { vapid, ttl: 60 })).toEqual({ kind: "gone", status: 404 });
  });

  it("429 with Retry-After and 500 are retried; the next attempt is delivered", async () => {
    const { vapid, id, subscription } = await subscribed();
    await programPushService(id, [{ status: 429, headers: { "retry-after": "30" } }, { status: 500 }, { status: 201 }]);
    const options = { vapid, ttl: 60 };
    expect(await sendPush(subscription, { n: 1 }, options)).toMatchObject({
      kind: "retry",
      status: 429,
      retryAfter: 30,
    });
    expect(await sendPush(subscription, { n: 2 }, options)).toMatchObject({ kind: "retry", status: 500 });
    expect(await sendPush(subscription, { n: 3 }, options)).toEqual({ kind: "delivered", status: 201 });
    expect((await pushesReceived(id)).map((m) => JSON.parse(m.payload ?? "null"))).toEqual([
      { n: 1 },
      { n: 2 },
      { n: 3 },
    ]);
  });

  it("an unreachable push service is retried", async () => {
    const { vapid, subscription } = await subscribed();
    const closed = { ...subscription, endpoint: "http://127.0.0.1:1/push/x" };
    expect(await sendPush(closed, { hello: 1 }, { vapid, ttl: 60, timeoutMs: 2000 })).toMatchObject({ kind: "retry" });
  });

  it("a message that cannot be built (bad VAPID subject) is failed, never thrown", async () => {
    const { vapid, subscription } = await subscribed();
    const outcome = await sendPush(subscription, { hello: 1 }, { vapid: { ...vapid, subject: "nobody" }, ttl: 60 });
    expect(outcome).toMatchObject({ kind: "failed" });
    expect(outcome).not.toHaveProperty("status");
  });
});
