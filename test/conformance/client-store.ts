/**
 * The conformance suite of ClientStore (src/stores.ts): what any implementation, edge-op's D1
 * default or an integrator's own, must do. The interface only reads, so the harness that makes
 * the store also registers clients in its backing storage (and, optionally, writes a damaged
 * record there). Each check throws when the store falls short (see stores.test.ts).
 *
 *   clientStoreConformance("my store", async () => ({ store, register: (reg) => … }));
 */
import { describe, expect, it } from "vitest";
import type { ClientRegistration } from "../../src/clients/metadata";
import type { ClientStore } from "../../src/stores";

export interface ClientStoreHarness {
  store: ClientStore;
  /** Registers a client in the store's backing storage, as the admin tool would. */
  register(registration: ClientRegistration): Promise<void>;
  /** Writes a record for this client_id that no valid registration produces (optional). */
  corrupt?(clientId: string): Promise<void>;
}

export type MakeClientStore = () => Promise<ClientStoreHarness>;

export const MALFORMED_CLIENT_IDS = ["", " ", "%", "_", "*", "' OR '1'='1", "../x", "\u0000", "💥", "a".repeat(5000)];

export function clientRegistration(overrides: Partial<ClientRegistration> = {}): ClientRegistration {
  const clientId = `client-${crypto.randomUUID()}`;
  return {
    client_id: clientId,
    client_name: "Conformance client",
    token_endpoint_auth_method: "client_secret_basic",
    client_secret: `${clientId}-secret-0123456789`,
    grant_types: ["urn:openid:params:grant-type:ciba", "authorization_code"],
    redirect_uris: ["https://rp.example/cb"],
    scope: "openid profile",
    backchannel_token_delivery_mode: "poll",
    backchannel_user_code_parameter: false,
    require_pushed_authorization_requests: false,
    ...overrides,
  };
}

export const clientStoreChecks = {
  async "finds a registered client by its exact client_id, with its metadata"(make: MakeClientStore) {
    const { store, register } = await make();
    const registration = clientRegistration();
    await register(registration);
    expect(await store.find(registration.client_id)).toMatchObject({
      client_id: registration.client_id,
      client_name: registration.client_name,
      token_endpoint_auth_method: "client_secret_basic",
      grant_types: registration.grant_types,
      redirect_uris: registration.redirect_uris,
      backchannel_token_delivery_mode: "poll",
    });
    expect(await store.find(registration.client_id.toUpperCase())).toBeUndefined();
    expect(await store.find(`${registration.client_id} `)).toBeUndefined();
  },

  async "never hands out the client secret itself"(make: MakeClientStore) {
    const { store, register } = await make();
    const registration = clientRegistration();
    await register(registration);
    const found = await store.find(registration.client_id);
    expect(found?.client_secret_hash).toBeDefined();
    expect(JSON.stringify(found)).not.toContain(registration.client_secret);
  },

  async "finds nothing for unknown or malformed ids, without throwing (no wildcard matches)"(make: MakeClientStore) {
    const { store, register } = await make();
    await register(clientRegistration());
    expect(await store.find(`client-${crypto.randomUUID()}`)).toBeUndefined();
    for (const id of MALFORMED_CLIENT_IDS) expect(await store.find(id), id).toBeUndefined();
  },

  async "does not remember a miss: a client registered after a failed lookup is found at once"(make: MakeClientStore) {
    const { store, register } = await make();
    const registration = clientRegistration();
    expect(await store.find(registration.client_id)).toBeUndefined();
    await register(registration);
    expect(await store.find(registration.client_id)).toMatchObject({ client_id: registration.client_id });
  },

  async "fails closed on a damaged record: no client, or an error that is not a TypeError"(make: MakeClientStore) {
    const { store, corrupt } = await make();
    if (!corrupt) return;
    const clientId = `client-${crypto.randomUUID()}`;
    await corrupt(clientId);
    const outcome = await store.find(clientId).then(
      (client) => ({ client }),
      (error: unknown) => ({ error }),
    );
    if ("client" in outcome) expect(outcome.client).toBeUndefined();
    else expect(outcome.error).not.toBeInstanceOf(TypeError);
  },
} satisfies Record<string, (make: MakeClientStore) => Promise<void>>;

export function clientStoreConformance(name: string, make: MakeClientStore): void {
  describe(`ClientStore conformance: ${name}`, () => {
    for (const [title, check] of Object.entries(clientStoreChecks)) it(title, () => check(make));
  });
}
