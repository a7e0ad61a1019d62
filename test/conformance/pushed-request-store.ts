/**
 * The conformance suite of PushedAuthorizationRequestStore (src/stores.ts, RFC 9126): what any
 * implementation, edge-op's KV default or an integrator's own, must do. Each check is a plain
 * async function that throws when the store falls short, so a test can also run one against a
 * store made to be wrong and see it fail (test/conformance/stores.test.ts).
 *
 *   pushedRequestStoreConformance("my store", (realm) => new MyStore(env, realm));
 */
import { describe, expect, it } from "vitest";
import type { PushedAuthorizationRequest, PushedAuthorizationRequestStore } from "../../src/stores";

/**
 * Makes the store under test for a realm. A store with no notion of realms may ignore it; then
 * pass `{ realms: false }` and the isolation check is skipped.
 */
export type MakePushedRequestStore = (realm: string) => PushedAuthorizationRequestStore;

export interface PushedRequestStoreOptions {
  /** Whether stores of two realms sharing one backing storage must not see each other's requests. */
  realms?: boolean;
}

/** Ids that are not a SHA-256 hex, or not one that was ever stored: never a match, never a throw. */
export const MALFORMED_HASHES = ["", "0", "zz", "../par/x", "%00", "💥", "a".repeat(5000), `${"0".repeat(64)}\n`];

async function hexHash(): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", crypto.getRandomValues(new Uint8Array(32)));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** A fresh pushed request: a new reference hash, pushed by `clientId`, expiring `lifetime` s from now. */
export async function pushedRequest(
  lifetime = 60,
  clientId = "conformance-client",
): Promise<PushedAuthorizationRequest> {
  return {
    referenceValueHash: await hexHash(),
    expiresAtUtc: Math.floor(Date.now() / 1000) + lifetime,
    parameters: new URLSearchParams({
      response_type: "code",
      client_id: clientId,
      redirect_uri: "https://rp.example/cb",
      scope: "openid",
      state: crypto.randomUUID(),
    }).toString(),
    clientId,
  };
}

export const pushedRequestStoreChecks = {
  async "returns what was stored, by its hash"(make: MakePushedRequestStore) {
    const store = make("");
    const request = await pushedRequest();
    await store.store(request);
    expect(await store.getByHash(request.referenceValueHash)).toEqual(request);
  },

  async "returns nothing for an unknown or malformed hash, without throwing"(make: MakePushedRequestStore) {
    const store = make("");
    expect(await store.getByHash(await hexHash())).toBeUndefined();
    for (const hash of MALFORMED_HASHES) expect(await store.getByHash(hash), hash).toBeUndefined();
  },

  async "consumes once: the first consume wins, later ones fail and reads find nothing"(make: MakePushedRequestStore) {
    const store = make("");
    const request = await pushedRequest();
    await store.store(request);
    expect(await store.consumeByHash(request)).toBe(true);
    expect(await store.consumeByHash(request)).toBe(false);
    expect(await store.getByHash(request.referenceValueHash)).toBeUndefined();
  },

  async "consumes exactly once under concurrency (one winner of 8)"(make: MakePushedRequestStore) {
    const store = make("");
    const request = await pushedRequest();
    await store.store(request);
    // Each consumer reads first, as /authorize does, then races to consume.
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const read = await store.getByHash(request.referenceValueHash);
        return read ? store.consumeByHash(read) : false;
      }),
    );
    expect(outcomes.filter(Boolean)).toHaveLength(1);
  },

  async "does not return a request past its expiry"(make: MakePushedRequestStore) {
    const store = make("");
    const expired = await pushedRequest(-1);
    await store.store(expired);
    expect(await store.getByHash(expired.referenceValueHash)).toBeUndefined();
  },

  async "keeps a request opened within its lifetime readable for the user's interaction, and an unopened one not"(
    make: MakePushedRequestStore,
  ) {
    const store = make("");
    const [opened, unopened] = [await pushedRequest(1), await pushedRequest(1)];
    await store.store(opened);
    await store.store(unopened);
    expect(await store.getByHash(opened.referenceValueHash)).toEqual(opened);
    await new Promise((resolve) => setTimeout(resolve, 1_100 + (opened.expiresAtUtc * 1000 - Date.now())));
    // Sign-in and consent may outlast the request_uri's own short lifetime (RFC 9126 §2.2, §4).
    expect(await store.getByHash(opened.referenceValueHash)).toEqual(opened);
    expect(await store.getByHash(unopened.referenceValueHash)).toBeUndefined();
    expect(await store.consumeByHash(opened)).toBe(true);
  },

  async "keeps other requests apart: consuming one leaves another usable"(make: MakePushedRequestStore) {
    const store = make("");
    const [first, second] = [await pushedRequest(), await pushedRequest()];
    await store.store(first);
    await store.store(second);
    expect(await store.consumeByHash(first)).toBe(true);
    expect(await store.getByHash(second.referenceValueHash)).toEqual(second);
    expect(await store.consumeByHash(second)).toBe(true);
  },

  async "keeps realms apart: a request of one realm is unknown in another, even from the same client"(
    make: MakePushedRequestStore,
  ) {
    const [a, b, root] = [make("realm-a"), make("realm-b"), make("")];
    const request = await pushedRequest();
    await a.store(request);
    expect(await b.getByHash(request.referenceValueHash)).toBeUndefined();
    expect(await root.getByHash(request.referenceValueHash)).toBeUndefined();
    // Whatever another realm answers to consuming a request it never had, that does not use it up here.
    await b.consumeByHash(request);
    await root.consumeByHash(request);
    expect(await a.getByHash(request.referenceValueHash)).toEqual(request);
    expect(await a.consumeByHash(request)).toBe(true);
  },
} satisfies Record<string, (make: MakePushedRequestStore) => Promise<void>>;

export function pushedRequestStoreConformance(
  name: string,
  make: MakePushedRequestStore,
  options: PushedRequestStoreOptions = {},
): void {
  describe(`PushedAuthorizationRequestStore conformance: ${name}`, () => {
    for (const [title, check] of Object.entries(pushedRequestStoreChecks)) {
      if (title.startsWith("keeps realms apart") && options.realms === false) continue;
      it(title, () => check(make));
    }
  });
}
