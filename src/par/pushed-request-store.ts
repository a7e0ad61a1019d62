/**
 * PushedAuthorizationRequestStore (the seed's IPushedAuthorizationRequestStore), on Workers KV.
 *
 * Key `par:<referenceValueHash>`, where referenceValueHash is SHA-256 (hex) of the reference in
 * `urn:ietf:params:oauth:request_uri:<reference>`; the reference itself is never stored. The
 * value holds the expiry and the request's parameters, encrypted (AES-256-GCM, bound to the key).
 *
 * KV cannot enforce one-time use: it is eventually consistent, so a "consumed" marker written
 * at one location may not be seen at another for a minute. Consumption is therefore fenced in
 * the client's ReplayGuard Durable Object, which is strongly consistent and atomic: the first
 * `consumeByHash` wins everywhere, and `getByHash` asks the same object whether it is spent.
 * The KV entry is deleted afterwards as clean-up only.
 *
 * KV's TTL floor is 60 s, while a pushed request may live less: the expiry is kept in the value
 * and checked on every read; the TTL only lets KV drop the entry eventually.
 */
import { decrypt, encrypt } from "../crypto/encryption";
import type { Bindings } from "../env";

/** The seed's PushedAuthorizationRequest. */
export interface PushedAuthorizationRequest {
  referenceValueHash: string;
  /** Epoch seconds. */
  expiresAtUtc: number;
  /** The pushed parameters as a query string (decrypted). */
  parameters: string;
  /** The client that pushed it: the only one that may use it. */
  clientId: string;
}

interface StoredValue {
  expiresAtUtc: number;
  clientId: string;
  /** Encrypted query string. */
  parameters: string;
}

const KV_TTL_FLOOR = 60;
/** Kept a little past expiry so a late read finds it and says "expired" rather than "unknown". */
const TTL_MARGIN = 30;

export class PushedAuthorizationRequestStore {
  constructor(private readonly env: Bindings) {}

  async store(request: PushedAuthorizationRequest): Promise<void> {
    const value: StoredValue = {
      expiresAtUtc: request.expiresAtUtc,
      clientId: request.clientId,
      parameters: await encrypt(this.env.DATA_ENCRYPTION_KEY, request.parameters, aad(request.referenceValueHash)),
    };
    const lifetime = request.expiresAtUtc - Math.floor(Date.now() / 1000);
    await this.env.PAR_REQUESTS.put(key(request.referenceValueHash), JSON.stringify(value), {
      expirationTtl: Math.max(KV_TTL_FLOOR, lifetime) + TTL_MARGIN,
    });
  }

  /** The request, or undefined if unknown, expired, unreadable or already consumed. */
  async getByHash(referenceValueHash: string): Promise<PushedAuthorizationRequest | undefined> {
    const stored = await this.env.PAR_REQUESTS.get<StoredValue>(key(referenceValueHash), "json");
    if (!stored || stored.expiresAtUtc <= Math.floor(Date.now() / 1000)) return undefined;
    if (await this.fence(stored.clientId).isClaimed(fenceKey(referenceValueHash))) return undefined;
    const parameters = await decrypt(this.env.DATA_ENCRYPTION_KEY, stored.parameters, aad(referenceValueHash));
    if (parameters === undefined) return undefined;
    return { referenceValueHash, expiresAtUtc: stored.expiresAtUtc, parameters, clientId: stored.clientId };
  }

  /**
   * Marks the request used. Returns false if it had already been consumed (anywhere): the
   * caller must then not produce an authorization response.
   */
  async consumeByHash(request: PushedAuthorizationRequest): Promise<boolean> {
    const won = await this.fence(request.clientId).claim(fenceKey(request.referenceValueHash), request.expiresAtUtc);
    if (won) await this.env.PAR_REQUESTS.delete(key(request.referenceValueHash));
    return won;
  }

  private fence(clientId: string) {
    return this.env.REPLAY_GUARD.get(this.env.REPLAY_GUARD.idFromName(`jti:${clientId}`));
  }
}

function key(referenceValueHash: string): string {
  return `par:${referenceValueHash}`;
}

function aad(referenceValueHash: string): string {
  return `par:${referenceValueHash}`;
}

/** Kept apart from assertion jti hashes in the same object. */
function fenceKey(referenceValueHash: string): string {
  return `par:${referenceValueHash}`;
}
