/**
 * The fake Web Push service (test/node/push-service.ts, started by test/global-setup.ts) as seen
 * from a test in workerd: subscribe as a browser would, program its answers, read what it
 * received (decrypted, with the VAPID JWT it verified). Subscriptions are per test.
 */
import { env } from "cloudflare:workers";

export interface PushAnswer {
  status: number;
  headers?: Record<string, string>;
}

/** One message as the fake service saw it (see ReceivedPush in test/node/push-service.ts). */
export interface ReceivedPush {
  at: number;
  status: number;
  refused?: string;
  ttl: string | null;
  urgency: string | null;
  topic: string | null;
  contentEncoding: string | null;
  vapid?: { k: string; alg: string; claims: { aud: unknown; exp: unknown; sub: unknown } };
  payload?: string;
  bodyLength: number;
}

export interface FakeSubscription {
  id: string;
  /** The browser's PushSubscription JSON, as POST /api/push/subscriptions will receive it. */
  subscription: { endpoint: string; expirationTime: null; keys: { p256dh: string; auth: string } };
}

/** The service's origin (the VAPID `aud` it expects). */
export function pushServiceOrigin(): string {
  return env.TEST_PUSH_SERVICE_URL;
}

/** A new subscription bound to `applicationServerKey` (the VAPID public key), like PushManager.subscribe. */
export async function subscribeToFakePushService(applicationServerKey: string): Promise<FakeSubscription> {
  const response = await fetch(`${env.TEST_PUSH_SERVICE_URL}/_subscriptions`, {
    method: "POST",
    body: JSON.stringify({ applicationServerKey }),
  });
  if (response.status !== 201) throw new Error(`fake push service answered ${response.status}`);
  return response.json();
}

/** How the subscription's push resource answers the next messages (the last answer repeats). */
export async function programPushService(id: string, answers: PushAnswer | PushAnswer[]): Promise<void> {
  const response = await fetch(`${env.TEST_PUSH_SERVICE_URL}/_program/${id}`, {
    method: "PUT",
    body: JSON.stringify(answers),
  });
  await response.body?.cancel();
}

export async function pushesReceived(id: string): Promise<ReceivedPush[]> {
  return (await fetch(`${env.TEST_PUSH_SERVICE_URL}/_received/${id}`)).json();
}
