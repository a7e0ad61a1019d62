/**
 * Push retries per subscription (issue 16): a CIBA notice pushed to several devices is retried,
 * from the request's alarm, only to the devices whose push service asked for it (429/5xx, RFC
 * 8030 §8.4) or could not be reached. A device that already has the notice does not get it again
 * when another device's push is retried. Which devices are done for a request is kept on the
 * request's entry in the user's object (src/users/user-object.ts), written only when a retry is
 * needed: a notice that reaches every device writes nothing.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { RetryableNotificationError } from "../src/ciba/notification-errors";
import { WebPushNotificationService } from "../src/ciba/web-push-notifier";
import type { BackchannelUserLoginRequest } from "../src/context";
import { sealSubscription } from "../src/push/sealed-subscription";
import { parsePushSubscription } from "../src/push/subscription";
import { generateVapidKeys } from "../src/push/vapid";
import { programPushService, pushesReceived, subscribeToFakePushService } from "./helpers/push-service";

const SUBJECT = "mailto:ops@edge-op.example";
const dev = { allowLoopbackHttp: true };

/** A user's object with `count` devices subscribed at the fake push service, and a pending request. */
async function userWithDevices(count: number) {
  const vapid = { ...(await generateVapidKeys()), subject: SUBJECT };
  const ns = env.TEST_USER_OBJECT;
  const user = ns.get(ns.idFromName(`retries-${crypto.randomUUID()}`));
  const phones = await Promise.all(Array.from({ length: count }, () => subscribeToFakePushService(vapid.publicKey)));
  for (const [i, phone] of phones.entries()) {
    const parsed = await parsePushSubscription(phone.subscription, dev);
    if (!parsed.ok) throw new Error(parsed.error);
    const sealed = await sealSubscription(env.DATA_ENCRYPTION_KEY, "alice", parsed.value);
    await user.putSubscription({ ...sealed, label: `Phone ${i}` }, 10);
  }
  const now = Math.floor(Date.now() / 1000);
  const internalId = crypto.randomUUID().replace(/-/g, "").repeat(2);
  const listed = await user.addPending(
    {
      internalId,
      clientId: "kiosk",
      clientName: "Kiosk 9",
      bindingMessage: "Pay 12.00 EUR",
      scopes: ["openid"],
      acrValues: [],
      createdAt: now,
      expiresAt: now + 300,
    },
    { perUser: 10, perUserAndClient: 10 },
  );
  expect(listed).toEqual({ added: true });
  const request: BackchannelUserLoginRequest = {
    internalId,
    subject: "alice",
    clientId: "kiosk",
    clientName: "Kiosk 9",
    bindingMessage: "Pay 12.00 EUR",
    requestedScopes: ["openid"],
    requestedResourceIndicators: [],
    authenticationContextReferenceClasses: [],
    expiresAt: now + 300,
    approvalUrl: `https://op.example/ciba/requests/${internalId}`,
    authorizationDetails: [],
    authorizationDetailsText: [],
  };
  const notifier = new WebPushNotificationService({
    vapid,
    dataKey: env.DATA_ENCRYPTION_KEY,
    policy: dev,
    timeoutMs: 5000,
    devicesOf: async () => user,
  });
  return { user, phones, request, notifier };
}

describe("RFC 8030 §8.4 retries, per subscription", () => {
  it("a device that got the notice is not pushed again when another device's push is retried", async () => {
    const { phones, request, notifier } = await userWithDevices(3);
    const [delivered, busy, refused] = phones;
    if (!delivered || !busy || !refused) throw new Error("no phones");
    await programPushService(busy.id, [{ status: 503 }, { status: 201 }]);
    // 400: not worth retrying; it is not sent again either.
    await programPushService(refused.id, { status: 400 });

    // The request's alarm: the first attempt asks for a retry (the busy device) ...
    await expect(notifier.sendLoginRequest(request)).rejects.toBeInstanceOf(RetryableNotificationError);
    // ... and the retry goes to that device alone.
    await notifier.sendLoginRequest(request);

    expect((await pushesReceived(delivered.id)).map((m) => m.status)).toEqual([201]);
    expect((await pushesReceived(busy.id)).map((m) => m.status)).toEqual([503, 201]);
    expect((await pushesReceived(refused.id)).map((m) => m.status)).toEqual([400]);
  });

  it("a device still failing is retried again, and the others still are not", async () => {
    const { phones, request, notifier } = await userWithDevices(2);
    const [delivered, busy] = phones;
    if (!delivered || !busy) throw new Error("no phones");
    await programPushService(busy.id, [{ status: 429 }, { status: 500 }, { status: 201 }]);
    await expect(notifier.sendLoginRequest(request)).rejects.toBeInstanceOf(RetryableNotificationError);
    await expect(notifier.sendLoginRequest(request)).rejects.toBeInstanceOf(RetryableNotificationError);
    await notifier.sendLoginRequest(request);
    expect(await pushesReceived(delivered.id)).toHaveLength(1);
    expect((await pushesReceived(busy.id)).map((m) => m.status)).toEqual([429, 500, 201]);
  });

  it("a notice every device accepted writes nothing to the user's object (the happy path stays free)", async () => {
    const { user, request, notifier } = await userWithDevices(2);
    const entry = () =>
      runInDurableObject(user, (_instance, state) =>
        JSON.stringify(state.storage.kv.get(`pending:${request.internalId}`)),
      );
    const before = await entry();
    await notifier.sendLoginRequest(request);
    expect(await entry()).toBe(before);
    expect(before).not.toContain("pushed");
  });

  it("without a pending entry (not listed in the user's object) a retry goes to every device, as before", async () => {
    const { user, phones, request, notifier } = await userWithDevices(2);
    const [delivered, busy] = phones;
    if (!delivered || !busy) throw new Error("no phones");
    expect(await user.removePending(request.internalId, "withdrawn")).toBe(true);
    await programPushService(busy.id, [{ status: 503 }, { status: 201 }]);
    await expect(notifier.sendLoginRequest(request)).rejects.toBeInstanceOf(RetryableNotificationError);
    await notifier.sendLoginRequest(request);
    expect(await pushesReceived(delivered.id)).toHaveLength(2);
  });
});
