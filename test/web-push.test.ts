/**
 * Web Push end to end, from inside workerd to a real HTTP push service on loopback
 * (test/node/push-service.ts) that holds the browser's P-256 key and auth secret: the service
 * verifies the VAPID JWT against the key the subscription was made with and decrypts the
 * message; its answers are classified as RFC 8030 says. (Issue 16's "done when", without the
 * routes, which wait for issue 13.)
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { cibaPushNotice } from "../src/push/ciba-notice";
import { type Device, pushToDevices } from "../src/push/fan-out";
import { openSubscription, sealSubscription } from "../src/push/sealed-subscription";
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

describe("a notice to all of a user's devices, subscriptions kept in the user's object", () => {
  const dev = { allowLoopbackHttp: true };

  it("is pushed to every device; a 410 removes that subscription from the object; a 429 is retried alone", async () => {
    const vapid = { ...(await generateVapidKeys()), subject };
    const ns = env.TEST_USER_OBJECT;
    const user = ns.get(ns.idFromName(`devices-${crypto.randomUUID()}`));
    // Three devices subscribe; the subscriptions are stored sealed, as POST /api/push/subscriptions will.
    const phones = await Promise.all([1, 2, 3].map(() => subscribeToFakePushService(vapid.publicKey)));
    for (const [i, phone] of phones.entries()) {
      const parsed = await parsePushSubscription(phone.subscription, dev);
      if (!parsed.ok) throw new Error(parsed.error);
      const sealed = await sealSubscription(env.DATA_ENCRYPTION_KEY, "alice", parsed.value);
      await user.putSubscription({ ...sealed, label: `Phone ${i}` }, 10);
    }
    const [ok, gone, busy] = phones;
    if (!ok || !gone || !busy) throw new Error("no phones");
    await programPushService(gone.id, { status: 410 });
    await programPushService(busy.id, [{ status: 429, headers: { "retry-after": "20" } }, { status: 201 }]);

    // What the CIBA request's alarm will do: open the stored subscriptions, push, drop the gone.
    const stored = await user.subscriptions();
    const devices: Device[] = [];
    for (const entry of stored) {
      const subscription = await openSubscription(env.DATA_ENCRYPTION_KEY, "alice", entry, dev);
      if (subscription) devices.push({ id: entry.id, subscription });
    }
    expect(devices).toHaveLength(3);
    const built = cibaPushNotice(request);
    if (!built) throw new Error("not built");
    const result = await pushToDevices(devices, built.notice, { vapid, ...built.options });
    const idOf = (i: number) => stored[i]?.id ?? "";
    expect(result).toEqual({ delivered: [idOf(0)], gone: [idOf(1)], failed: [], retry: [idOf(2)], retryAfter: 20 });
    for (const id of result.gone) {
      const entry = stored.find((s) => s.id === id);
      expect(await user.removeSubscription(id, entry?.sealed)).toBe(true);
    }
    expect((await user.subscriptions()).map((s) => s.id)).toEqual([idOf(0), idOf(2)]);

    // The retry goes to the device that asked for it, and only there.
    const retried = await pushToDevices(devices, built.notice, { vapid, ...built.options }, result.retry);
    expect(retried).toEqual({ delivered: [idOf(2)], gone: [], failed: [], retry: [] });
    expect(await pushesReceived(ok.id)).toHaveLength(1);
    const received = await pushesReceived(busy.id);
    expect(received.map((m) => m.status)).toEqual([429, 201]);
    expect(JSON.parse(received[1]?.payload ?? "null").binding_message).toBe(request.bindingMessage);
  });
});
