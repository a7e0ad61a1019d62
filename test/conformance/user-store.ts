/**
 * The conformance suite of UserStore (src/stores.ts): what any implementation, edge-op's D1
 * default or an integrator's own (say, over the bank's directory), must do. The interface only
 * reads (and swaps a user_code hash), so the harness registers users in the backing storage.
 * Each check throws when the store falls short (see stores.test.ts).
 *
 *   userStoreConformance("my store", async () => ({ store, register: (reg) => … }));
 */
import { describe, expect, it } from "vitest";
import type { UserStore } from "../../src/stores";
import type { UserRegistration } from "../../src/users/store";

export interface UserStoreHarness {
  store: UserStore;
  /** Registers a user in the store's backing storage, as the admin tool would; returns the sub. */
  register(registration: UserRegistration): Promise<string>;
  /** Sets the user's stored user_code hash to exactly this value. */
  setUserCodeHash(sub: string, hash: string): Promise<void>;
}

export type MakeUserStore = () => Promise<UserStoreHarness>;

export const MALFORMED_LOOKUPS = ["", " ", "%", "_", "*", "' OR '1'='1", "\u0000", "💥", "a".repeat(5000)];

export function userRegistration(overrides: Partial<UserRegistration> = {}): UserRegistration {
  const n = crypto.randomUUID().slice(0, 8);
  return {
    sub: `sub-${crypto.randomUUID()}`,
    username: `user.${n}`,
    password: "correct horse battery",
    email: `user.${n}@bank.example`,
    email_verified: true,
    phone_number: `+4479${String(Math.floor(Math.random() * 1e8)).padStart(8, "0")}`,
    name: "Conformance User",
    ...overrides,
  };
}

export const userStoreChecks = {
  async "finds a user by subject, username, e-mail and phone number, each exactly (never by a prefix)"(
    make: MakeUserStore,
  ) {
    const { store, register } = await make();
    const registration = userRegistration();
    const sub = await register(registration);
    for (const found of [
      await store.findBySubject(sub),
      await store.findByUsername(registration.username),
      await store.findByEmail(registration.email as string),
      await store.findByPhoneNumber(registration.phone_number as string),
    ]) {
      expect(found).toMatchObject({ sub, username: registration.username, email: registration.email });
    }
    // Exact, though a store may fold case in usernames and e-mail addresses (the default does).
    expect(await store.findByUsername(registration.username.slice(0, -1))).toBeUndefined();
    expect(await store.findByEmail(`x${registration.email}`)).toBeUndefined();
    expect(await store.findBySubject(`${sub}x`)).toBeUndefined();
  },

  async "resolves a login hint given as username, e-mail or phone number"(make: MakeUserStore) {
    const { store, register } = await make();
    const registration = userRegistration();
    const sub = await register(registration);
    for (const hint of [registration.username, registration.email, registration.phone_number] as string[]) {
      expect(await store.findByLoginHint(hint), hint).toMatchObject({ sub });
    }
    expect(await store.findByLoginHint(sub)).toBeUndefined();
  },

  async "never hands out the password or the user_code, only their hashes"(make: MakeUserStore) {
    const { store, register } = await make();
    const registration = userRegistration({ user_code: "7492-1138" });
    const sub = await register(registration);
    const found = await store.findBySubject(sub);
    expect(found?.password_hash).toBeDefined();
    expect(JSON.stringify(found)).not.toContain(registration.password);
    expect(JSON.stringify(found)).not.toContain("7492-1138");
  },

  async "finds nothing for unknown or malformed lookups, without throwing (no wildcard matches)"(make: MakeUserStore) {
    const { store, register } = await make();
    await register(userRegistration());
    for (const value of [...MALFORMED_LOOKUPS, `nobody-${crypto.randomUUID()}`]) {
      expect(await store.findBySubject(value), value).toBeUndefined();
      expect(await store.findByUsername(value), value).toBeUndefined();
      expect(await store.findByEmail(value), value).toBeUndefined();
      expect(await store.findByPhoneNumber(value), value).toBeUndefined();
      expect(await store.findByLoginHint(value), value).toBeUndefined();
    }
  },

  async "replaces a user_code hash only while it is still the expected one"(make: MakeUserStore) {
    const { store, register, setUserCodeHash } = await make();
    const sub = await register(userRegistration());
    await setUserCodeHash(sub, "legacy-hash");
    await store.replaceUserCodeHash(sub, "not-the-current-hash", "new-hash");
    expect((await store.findBySubject(sub))?.user_code_hash).toBe("legacy-hash");
    await store.replaceUserCodeHash(sub, "legacy-hash", "new-hash");
    expect((await store.findBySubject(sub))?.user_code_hash).toBe("new-hash");
  },

  async "lets one of 8 concurrent replacements from the same hash win, and no later one"(make: MakeUserStore) {
    const { store, register, setUserCodeHash } = await make();
    const sub = await register(userRegistration());
    await setUserCodeHash(sub, "legacy-hash");
    const candidates = Array.from({ length: 8 }, (_, i) => `new-hash-${i}`);
    await Promise.all(candidates.map((next) => store.replaceUserCodeHash(sub, "legacy-hash", next)));
    const winner = (await store.findBySubject(sub))?.user_code_hash;
    expect(candidates).toContain(winner);
    await store.replaceUserCodeHash(sub, "legacy-hash", "late-hash");
    expect((await store.findBySubject(sub))?.user_code_hash).toBe(winner);
  },
} satisfies Record<string, (make: MakeUserStore) => Promise<void>>;

export function userStoreConformance(name: string, make: MakeUserStore): void {
  describe(`UserStore conformance: ${name}`, () => {
    for (const [title, check] of Object.entries(userStoreChecks)) it(title, () => check(make));
  });
}
