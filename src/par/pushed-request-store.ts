/**
 * KvPushedAuthorizationRequestStore, the default PushedAuthorizationRequestStore (src/stores.ts):
 * the seed's IPushedAuthorizationRequestStore on Workers KV, fenced by a Durable Object.
 *
 * Key `par:<referenceValueHash>` (`<realm>:par:…` for a provider with a realm), where
 * referenceValueHash is SHA-256 (hex) of the reference in
 * `urn:ietf:params:oauth:request_uri:<reference>`; the reference itself is never stored. The
 * value holds the expiry and the request's parameters, encrypted (AES-256-GCM, bound to the key).
 *
 * KV cannot enforce one-time use: it is eventually consistent, so a "consumed" marker written
 * at one location may not be seen at another for a minute. Consumption is therefore fenced in
 * the client's ReplayGuard Durable Object, which is strongly consistent and atomic: the first
 * `consumeByHash` wins everywhere, and `getByHash` asks the same object whether it is spent.
 * The KV entry is deleted afterwards as clean-up only.
 *
 * KV can also lag the other way: at the location the browser reaches /authorize from, a key
 * written a second ago elsewhere may be missing (and the miss cached) for up to 60 s. So the
 * push also holds the same encrypted value in that ReplayGuard (`hold`), in the row that then
 * records the request's opening and its spending; a KV miss reads that copy. KV stays the fast
 * path for the client id; the fence is asked on every read anyway.
 *
 * KV's TTL floor is 60 s, while a pushed request may live less: the expiry is kept in the value
 * and checked on every read; the TTL only lets KV drop the entry eventually.
 *
 * The lifetime (`expires_in`, often 60 s) bounds how long the client's redirect may take to
 * reach /authorize (RFC 9126 §2.2), not how long the user may take to sign in and consent. So the
 * first read inside the lifetime opens the request in the same ReplayGuard, and an opened
 * request stays readable for `interactionSeconds` (PAR_INTERACTION_LIFETIME) until it is spent.
 */
import { decrypt, encrypt } from "../crypto/encryption";
import type { Bindings } from "../env";
import { int, json, object, type Parser, readStored, str } from "../parse";
import type { PushedAuthorizationRequest, PushedAuthorizationRequestStore } from "../stores";

interface StoredValue {
  expiresAtUtc: number;
  clientId: string;
  /** Encrypted query string. */
  parameters: string;
}

const storedValue: Parser<StoredValue> = object<StoredValue>({ expiresAtUtc: int, clientId: str, parameters: str });

/** SHA-256, hex: the only key this store ever writes. */
const REFERENCE_VALUE_HASH = /^[0-9a-f]{64}$/;
const KV_TTL_FLOOR = 60;
/** Kept a little past expiry so a late read finds it and says "expired" rather than "unknown". */
const TTL_MARGIN = 30;

export class KvPushedAuthorizationRequestStore implements PushedAuthorizationRequestStore {
  constructor(
    private readonly env: Bindings,
    private readonly interactionSeconds: number,
    /** The provider's realm: KV may be shared by several, so each keeps its own keys. */
    private readonly realm = "",
  ) {}

  private key(referenceValueHash: string): string {
    return this.realm ? `${this.realm}:${key(referenceValueHash)}` : key(referenceValueHash);
  }

  async store(request: PushedAuthorizationRequest): Promise<void> {
    const value: StoredValue = {
      expiresAtUtc: request.expiresAtUtc,
      clientId: request.clientId,
      parameters: await encrypt(this.env.DATA_ENCRYPTION_KEY, request.parameters, aad(request.referenceValueHash)),
    };
    const text = JSON.stringify(value);
    const lifetime = request.expiresAtUtc - Math.floor(Date.now() / 1000);
    const ttl = Math.max(KV_TTL_FLOOR, lifetime + this.interactionSeconds) + TTL_MARGIN;
    // The copy beside the fence is written first: once /par answers, /authorize finds it anywhere.
    await this.fence(request.clientId).hold(
      fenceKey(request.referenceValueHash),
      text,
      request.expiresAtUtc,
      request.expiresAtUtc + this.interactionSeconds + TTL_MARGIN,
    );
    await this.env.PAR_REQUESTS.put(this.key(request.referenceValueHash), text, { expirationTtl: ttl });
  }

  /**
   * The request, or undefined if unknown, expired (never opened within its lifetime, or its
   * interaction ran out), unreadable or already consumed. The first read within the lifetime
   * opens the request for the user's interaction (see above). `clientId` (the client_id that
   * came with the request_uri) lets a KV miss be answered from the copy in that client's fence;
   * without it a KV miss is a miss.
   */
  async getByHash(referenceValueHash: string, clientId?: string): Promise<PushedAuthorizationRequest | undefined> {
    // Only the shape of a hash edge-op makes reaches KV (a longer key would make KV throw).
    if (!REFERENCE_VALUE_HASH.test(referenceValueHash)) return undefined;
    const text = await this.env.PAR_REQUESTS.get(this.key(referenceValueHash));
    // A value that does not parse is no request (logged): the request_uri is then unknown.
    const cached = text === null ? undefined : readStored("pushed requests", json(storedValue), text);
    const owner = cached?.clientId ?? clientId;
    if (owner === undefined) return undefined;
    const openUntil = Math.floor(Date.now() / 1000) + this.interactionSeconds;
    const fence = this.fence(owner);
    const held = await fence.openHeld(fenceKey(referenceValueHash), openUntil);
    let stored: StoredValue | undefined;
    if (held !== undefined) {
      // The fence's own copy is authoritative: KV may lag behind it, never ahead of it.
      if (held.state !== "open" || held.value === undefined) return undefined;
      stored = readStored("pushed requests", json(storedValue), held.value);
    } else {
      // Pushed before copies were held beside the fence: KV alone has it.
      if (!cached) return undefined;
      const state = await fence.open(
        fenceKey(referenceValueHash),
        openKey(referenceValueHash),
        cached.expiresAtUtc,
        openUntil,
      );
      if (state !== "open") return undefined;
      stored = cached;
    }
    if (!stored || stored.clientId !== owner) return undefined;
    const parameters = await decrypt(this.env.DATA_ENCRYPTION_KEY, stored.parameters, aad(referenceValueHash));
    if (parameters === undefined) return undefined;
    return { referenceValueHash, expiresAtUtc: stored.expiresAtUtc, parameters, clientId: stored.clientId };
  }

  /**
   * Marks the request used. Returns false if it had already been consumed (anywhere): the
   * caller must then not produce an authorization response.
   */
  async consumeByHash(request: PushedAuthorizationRequest): Promise<boolean> {
    // Remembered as spent for as long as an opened request could still be read (see getByHash).
    const now = Math.floor(Date.now() / 1000);
    const spentUntil = Math.max(request.expiresAtUtc, now) + this.interactionSeconds;
    const fence = this.fence(request.clientId);
    const key = fenceKey(request.referenceValueHash);
    const won = (await fence.claimHeld(key, spentUntil)) ?? (await fence.claim(key, spentUntil));
    if (won) await this.env.PAR_REQUESTS.delete(this.key(request.referenceValueHash));
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

/** Recorded while the user's interaction with an opened request may continue. */
function openKey(referenceValueHash: string): string {
  return `par-open:${referenceValueHash}`;
}
