/**
 * A push subscription as it is stored in the user's Durable Object: encrypted (AES-256-GCM with
 * DATA_ENCRYPTION_KEY, src/crypto/encryption.ts). Its `auth` secret is shared only between the
 * browser and edge-op (RFC 8291 §3.2) and its endpoint is a capability URL, so neither is kept
 * in the clear. The additional data binds a sealed copy to its user and id: one user's row
 * cannot be moved to another user, nor to another id.
 *
 * The id is SHA-256 (hex) of the endpoint, so the same browser subscribing again replaces its
 * entry, and DELETE /api/push/subscriptions {"endpoint"} finds it without a scan.
 */

import { decrypt, encrypt } from "../crypto/encryption";
import { sha256Hex } from "../crypto/hash";
import { type EndpointPolicy, type PushSubscription, parsePushSubscription } from "./subscription";

export function subscriptionId(endpoint: string): Promise<string> {
  return sha256Hex(endpoint);
}

const aad = (subject: string, id: string) => `push-subscription\u0000${subject}\u0000${id}`;

/** The subscription's id, sealed form, and the push service's host (shown to the user). */
export async function sealSubscription(
  dataKey: string | undefined,
  subject: string,
  subscription: PushSubscription,
): Promise<{ id: string; sealed: string; service: string }> {
  const id = await subscriptionId(subscription.endpoint);
  return {
    id,
    sealed: await encrypt(dataKey, JSON.stringify(subscription), aad(subject, id)),
    service: new URL(subscription.endpoint).host,
  };
}

/**
 * The subscription back, parsed again under today's endpoint policy (a loopback endpoint stored
 * in development is not used once development mode is off), or undefined.
 */
export async function openSubscription(
  dataKey: string | undefined,
  subject: string,
  stored: { id: string; sealed: string },
  policy: EndpointPolicy,
): Promise<PushSubscription | undefined> {
  const text = await decrypt(dataKey, stored.sealed, aad(subject, stored.id));
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = await parsePushSubscription(value, policy);
  if (!parsed.ok || (await subscriptionId(parsed.value.endpoint)) !== stored.id) return undefined;
  return parsed.value;
}
