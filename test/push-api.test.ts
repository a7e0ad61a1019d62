/**
 * Web Push through the Worker (issue 16's "done when"): a device subscribes with
 * POST /api/push/subscriptions as the signed-in user, a client starts a CIBA request at
 * /bc-authorize, and the request's alarm pushes it to the fake push service on loopback
 * (test/node/push-service.ts), which verifies the VAPID JWT, decrypts the message, and records
 * it; the test checks the key against GET /api/push/vapid-key and finds the binding message. A
 * 410 from the service removes the subscription.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { builtInNotificationService } from "../src/ciba/notifications";
import { subscriptionId } from "../src/push/sealed-subscription";
import { mintAccessToken } from "../src/tokens/jwt";
import { loadKeys } from "../src/tokens/keys";
import { userObjectName } from "../src/users/user-object";
import { Browser } from "./helpers/browser";
import { backchannel, CIBA_GRANT, requestFor, runAlarmsUntil } from "./helpers/ciba";
import { registerAuthenticatorApp, registerClient, registerUser } from "./helpers/fixtures";
import { call, ISSUER } from "./helpers/http";
import { programPushService, pushesReceived, subscribeToFakePushService } from "./helpers/push-service";
import { useCibaServices } from "./helpers/services";

const SECRET = "push-kiosk-secret-0123456789";
/** The provider as deployed with Web Push on (the alarm's notifier is chosen the same way below). */
const WEBPUSH = { CIBA_NOTIFICATION: "webpush,log" };
let ada = "";

beforeAll(async () => {
  await registerClient({
    client_id: "push-kiosk",
    client_name: "Push kiosk",
    client_secret: SECRET,
    grant_types: [CIBA_GRANT],
    backchannel_token_delivery_mode: "poll",
    scope: "openid profile",
  });
  await registerAuthenticatorApp();
  ada = await registerUser({ username: "ada-push", password: "ada-push-password" });
});

let restore: (() => void) | undefined;
beforeEach(() => {
  // The request's alarm runs with the Worker's own env; give its notifier the same setting.
  restore = useCibaServices({
    notificationService: (e, settings) => builtInNotificationService(e, { ...settings, cibaNotification: ["webpush"] }),
  });
});
afterEach(() => restore?.());

/** One browser signed in once (sign-in is rate limited per username), shared by the tests. */
let session: Promise<{ browser: Browser; csrf: string }> | undefined;
function signedIn(): Promise<{ browser: Browser; csrf: string }> {
  session ??= signIn();
  return session;
}

async function signIn(): Promise<{ browser: Browser; csrf: string }> {
  const browser = new Browser(undefined, WEBPUSH);
  await browser.signIn("ada-push", "ada-push-password");
  const page = await browser.get("/ciba");
  const csrf = /data-csrf="([^"]+)"/.exec(await page.text())?.[1];
  if (!csrf) throw new Error("the /ciba page has no notifications button");
  return { browser, csrf };
}

function postJson(browser: Browser, method: string, body: unknown, headers: Record<string, string> = {}) {
  return browser.send("/api/push/subscriptions", {
    method,
    headers: { "content-type": "application/json", origin: ISSUER, ...headers },
    body: JSON.stringify(body),
  });
}

async function storedIds(subject: string): Promise<string[]> {
  const stub = env.USERS.get(env.USERS.idFromName(await userObjectName(subject)));
  return (await stub.subscriptions()).map((s) => s.id);
}

async function vapidKey(): Promise<string> {
  const response = await call("/api/push/vapid-key", {}, WEBPUSH);
  return ((await response.json()) as { publicKey: string }).publicKey;
}

describe("GET /api/push/vapid-key", () => {
  it("RFC 8292 §3.2: serves the public key, an uncompressed P-256 point in base64url", async () => {
    const response = await call("/api/push/vapid-key", {}, WEBPUSH);
    expect(response.status).toBe(200);
    const { publicKey } = (await response.json()) as { publicKey: string };
    expect(publicKey).toBe(env.VAPID_PUBLIC_KEY);
    expect(publicKey).toMatch(/^[A-Za-z0-9_-]{87}$/);
  });

  it("is 404 when CIBA_NOTIFICATION does not list webpush", async () => {
    expect((await call("/api/push/vapid-key", {}, { CIBA_NOTIFICATION: "log" })).status).toBe(404);
  });
});

describe("POST and DELETE /api/push/subscriptions", () => {
  it("stores a subscription for the signed-in user (session + CSRF) and deletes it by endpoint", async () => {
    const { browser, csrf } = await signedIn();
    const phone = await subscribeToFakePushService(await vapidKey());
    const created = await postJson(browser, "POST", phone.subscription, { "x-csrf-token": csrf });
    expect(created.status).toBe(201);
    const id = await subscriptionId(phone.subscription.endpoint);
    expect(await created.json()).toEqual({ id });
    expect(await storedIds(ada)).toContain(id);
    const deleted = await postJson(
      browser,
      "DELETE",
      { endpoint: phone.subscription.endpoint },
      { "x-csrf-token": csrf },
    );
    expect(deleted.status).toBe(204);
    expect(await storedIds(ada)).not.toContain(id);
  });

  it("several devices per user", async () => {
    const { browser, csrf } = await signedIn();
    const key = await vapidKey();
    const phones = [await subscribeToFakePushService(key), await subscribeToFakePushService(key)];
    for (const phone of phones) {
      expect((await postJson(browser, "POST", phone.subscription, { "x-csrf-token": csrf })).status).toBe(201);
    }
    const ids = await storedIds(ada);
    for (const phone of phones) expect(ids).toContain(await subscriptionId(phone.subscription.endpoint));
  });

  it("with the session cookie but no CSRF token it is refused (403) and nothing is stored", async () => {
    const { browser } = await signedIn();
    const phone = await subscribeToFakePushService(await vapidKey());
    const response = await postJson(browser, "POST", phone.subscription);
    expect(response.status).toBe(403);
    expect(await storedIds(ada)).not.toContain(await subscriptionId(phone.subscription.endpoint));
  });

  it("with a ciba:approve Bearer token (the authenticator app)", async () => {
    const keys = await loadKeys(env.SIGNING_KEYS);
    const token = await mintAccessToken(keys, {
      issuer: ISSUER,
      subject: ada,
      clientId: "authenticator-app",
      audience: ISSUER,
      scope: "openid ciba:approve",
      lifetime: 60,
      claims: { sid: "app-session" },
    });
    const phone = await subscribeToFakePushService(await vapidKey());
    const response = await call(
      "/api/push/subscriptions",
      {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(phone.subscription),
      },
      WEBPUSH,
    );
    expect(response.status).toBe(201);
    expect(await storedIds(ada)).toContain(await subscriptionId(phone.subscription.endpoint));
  });

  it("without a session or token: 401", async () => {
    const phone = await subscribeToFakePushService(await vapidKey());
    const response = await call(
      "/api/push/subscriptions",
      { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(phone.subscription) },
      WEBPUSH,
    );
    expect(response.status).toBe(401);
  });

  it.each([
    ["an http endpoint off loopback (RFC 8030 §8)", { endpoint: "http://push.example/x" }],
    ["a private address", { endpoint: "https://10.0.0.1/x" }],
    ["p256dh not a P-256 point", { keys: { p256dh: "AAAA", auth: "AAAAAAAAAAAAAAAAAAAAAA" } }],
    ["auth not 16 octets", { keys: { auth: "AAAA" } }],
  ])("refuses %s with 400 invalid_request", async (_what, change) => {
    const { browser, csrf } = await signedIn();
    const phone = await subscribeToFakePushService(await vapidKey());
    const body = {
      ...phone.subscription,
      ...change,
      keys: { ...phone.subscription.keys, ...(change as { keys?: object }).keys },
    };
    const response = await postJson(browser, "POST", body, { "x-csrf-token": csrf });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: "invalid_request" });
  });

  it("refuses a body that is not JSON with 400", async () => {
    const { browser, csrf } = await signedIn();
    const response = await browser.send("/api/push/subscriptions", {
      method: "POST",
      headers: { "content-type": "application/json", origin: ISSUER, "x-csrf-token": csrf },
      body: "{not json",
    });
    expect(response.status).toBe(400);
  });
});

describe("a new CIBA request is pushed to the user's devices", () => {
  async function startRequest(bindingMessage: string, extra: Record<string, string> = {}) {
    const { body } = await backchannel("push-kiosk", SECRET, {
      scope: "openid profile",
      login_hint: "ada-push",
      binding_message: bindingMessage,
      ...extra,
    });
    return (await requestFor(body.auth_req_id)).internalId;
  }

  it("RFC 9396: a payment's authorization detail reaches the phone as the approval page's sentence", async () => {
    const { browser, csrf } = await signedIn();
    const phone = await subscribeToFakePushService(await vapidKey());
    expect((await postJson(browser, "POST", phone.subscription, { "x-csrf-token": csrf })).status).toBe(201);
    const payment = {
      type: "payment_initiation",
      actions: ["initiate"],
      instructedAmount: { currency: "EUR", amount: "42.00" },
      creditorName: "ACME Ltd",
      creditorAccount: { iban: "DE02100100109307118603" },
    };
    const internalId = await startRequest("Till 7", { authorization_details: JSON.stringify([payment]) });
    await runAlarmsUntil(internalId, (r) => r.notificationStatus !== "pending", "a notification");
    const [message] = await pushesReceived(phone.id);
    expect(JSON.parse(message?.payload ?? "null").authorization_details_text).toEqual([
      "Pay €42.00 to ACME Ltd, IBAN …8603",
    ]);
  });

  it("the fake push service receives it, the VAPID JWT verifies against /api/push/vapid-key, the payload decrypts to the notice", async () => {
    const { browser, csrf } = await signedIn();
    const publicKey = await vapidKey();
    const phone = await subscribeToFakePushService(publicKey);
    expect((await postJson(browser, "POST", phone.subscription, { "x-csrf-token": csrf })).status).toBe(201);

    const internalId = await startRequest("Desk 42");
    const request = await runAlarmsUntil(internalId, (r) => r.notificationStatus !== "pending", "a notification");
    expect(request.notificationStatus).toBe("sent");

    const [message] = await pushesReceived(phone.id);
    expect(message?.refused).toBeUndefined();
    expect(message?.status).toBe(201);
    // The service verified the JWT under k; k is the key edge-op publishes.
    expect(message?.vapid?.k).toBe(publicKey);
    expect(message?.vapid?.claims.sub).toBe("mailto:ops@edge-op.example");
    expect(message?.urgency).toBe("high");
    const ttl = Number(message?.ttl);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(request.lifetime);
    const notice = JSON.parse(message?.payload ?? "null");
    expect(notice).toMatchObject({
      type: "ciba_request",
      request_id: internalId,
      binding_message: "Desk 42",
      client_name: "Push kiosk",
      scopes: ["openid", "profile"],
      approval_url: `${ISSUER}/ciba/requests/${internalId}`,
    });
    expect(notice.expires_at).toBeGreaterThan(Math.floor(Date.now() / 1000));
  });

  it("RFC 8030 §7.3: a 410 from the push service removes that subscription", async () => {
    const { browser, csrf } = await signedIn();
    const phone = await subscribeToFakePushService(await vapidKey());
    expect((await postJson(browser, "POST", phone.subscription, { "x-csrf-token": csrf })).status).toBe(201);
    const id = await subscriptionId(phone.subscription.endpoint);
    await programPushService(phone.id, { status: 410 });

    const internalId = await startRequest("Desk 43");
    await runAlarmsUntil(internalId, (r) => r.notificationStatus !== "pending", "a notification");
    expect((await pushesReceived(phone.id)).map((m) => m.status)).toEqual([410]);
    expect(await storedIds(ada)).not.toContain(id);
  });

  it("a 429 is retried from the request's alarm until the service accepts it", async () => {
    const { browser, csrf } = await signedIn();
    const phone = await subscribeToFakePushService(await vapidKey());
    expect((await postJson(browser, "POST", phone.subscription, { "x-csrf-token": csrf })).status).toBe(201);
    await programPushService(phone.id, [{ status: 429 }, { status: 201 }]);

    const internalId = await startRequest("Desk 44");
    const request = await runAlarmsUntil(internalId, (r) => r.notificationStatus === "sent", "a sent notification");
    expect(request.notificationAttempts).toBeGreaterThanOrEqual(2);
    const received = (await pushesReceived(phone.id)).filter(
      (m) => JSON.parse(m.payload ?? "{}").request_id === internalId,
    );
    expect(received.map((m) => m.status)).toEqual([429, 201]);
  });
});
