/**
 * The store conformance suites (test/conformance/*.ts) run against every store edge-op ships,
 * built as createProvider builds them, on the real Durable Objects, KV and D1 of the test
 * runtime. Then each suite is shown to fail: a store that breaks one guarantee in the classic
 * way (find then consume in two steps, cache a miss, match by pattern) is caught by the check
 * for it.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { SETTINGS, type SettingsOverrides } from "../../src/config";
import { createProvider } from "../../src/index";
import type {
  BackchannelAuthenticationRequestStore,
  ClientStore,
  PushedAuthorizationRequest,
  PushedAuthorizationRequestStore,
  UserStore,
} from "../../src/stores";
import { registerClient, registerUser } from "../helpers/fixtures";
import { backchannelRequestStoreChecks, backchannelRequestStoreConformance } from "./backchannel-request-store";
import { type ClientStoreHarness, clientStoreChecks, clientStoreConformance } from "./client-store";
import { pushedRequestStoreChecks, pushedRequestStoreConformance } from "./pushed-request-store";
import { type UserStoreHarness, userStoreChecks, userStoreConformance } from "./user-store";

/** The stores a provider with this realm (and these settings) uses, for the test runtime's env. */
const storesOf = (realm = "", settings: SettingsOverrides = {}) =>
  createProvider<typeof env>({ realm, settings }).context(env).stores;

/**
 * The suite's vars turn the client cache off (CLIENT_CACHE_SECONDS 0, vitest.config.ts); a
 * deployment keeps registrations for the default's seconds, so the default store is checked both
 * ways.
 */
const DEPLOYED_CLIENT_CACHE_SECONDS = Number(SETTINGS.clientCacheSeconds.default);

const d1Clients = async (clientCacheSeconds?: number): Promise<ClientStoreHarness> => ({
  store: storesOf("", clientCacheSeconds === undefined ? {} : { clientCacheSeconds }).clients,
  register: async (registration) => {
    await registerClient(registration);
  },
  // A row whose JSON column no registration writes.
  corrupt: async (clientId) => {
    await registerClient({ client_id: clientId });
    await env.DB.prepare("UPDATE clients SET grant_types = '{not json' WHERE client_id = ?").bind(clientId).run();
  },
});

const d1Users = async (): Promise<UserStoreHarness> => ({
  store: storesOf().users,
  register: registerUser,
  setUserCodeHash: async (sub, hash) => {
    await env.DB.prepare("UPDATE users SET user_code_hash = ? WHERE sub = ?").bind(hash, sub).run();
  },
});

backchannelRequestStoreConformance(
  "DurableObjectBackchannelRequestStore (the default)",
  () => storesOf().backchannelRequests,
);
pushedRequestStoreConformance(
  "KvPushedAuthorizationRequestStore (the default)",
  (realm) => storesOf(realm).pushedRequests,
);
clientStoreConformance("D1ClientStore (the default)", () => d1Clients());
clientStoreConformance(
  `D1ClientStore (the default) with its cache on, as deployed (${DEPLOYED_CLIENT_CACHE_SECONDS} s)`,
  () => d1Clients(DEPLOYED_CLIENT_CACHE_SECONDS),
);
userStoreConformance("D1UserStore (the default)", d1Users);

describe("the conformance suites fail a store that breaks a guarantee", () => {
  it("PushedAuthorizationRequestStore: consuming in two steps (read, then mark) lets several consumers win", async () => {
    const real = storesOf().pushedRequests;
    const consumed = new Set<string>();
    const racy: PushedAuthorizationRequestStore = {
      store: (request) => real.store(request),
      getByHash: async (hash) => (consumed.has(hash) ? undefined : real.getByHash(hash)),
      consumeByHash: async (request: PushedAuthorizationRequest) => {
        if (consumed.has(request.referenceValueHash)) return false;
        await real.getByHash(request.referenceValueHash); // any I/O between the check and the mark
        consumed.add(request.referenceValueHash);
        return true;
      },
    };
    await expect(
      pushedRequestStoreChecks["consumes exactly once under concurrency (one winner of 8)"](() => racy),
    ).rejects.toThrow();
  });

  it("PushedAuthorizationRequestStore: a realm prefix on reads only lets another realm use up the request", async () => {
    const shared = storesOf().pushedRequests;
    const leaky = (realm: string): PushedAuthorizationRequestStore => {
      const own = storesOf(realm).pushedRequests;
      return {
        store: (request) => own.store(request),
        getByHash: (hash) => own.getByHash(hash),
        // Consumption fenced by the hash alone, whatever the realm.
        consumeByHash: (request) => shared.consumeByHash(request),
      };
    };
    const check =
      pushedRequestStoreChecks[
        "keeps realms apart: a request of one realm is unknown in another, even from the same client"
      ];
    await expect(check(leaky)).rejects.toThrow();
  });

  it("BackchannelAuthenticationRequestStore: a store that ignores the admission check creates what it refused", async () => {
    const real = storesOf().backchannelRequests;
    const careless: BackchannelAuthenticationRequestStore = {
      // Written against the older two-parameter createRequest: the check is dropped.
      createRequest: (input, limits) => real.createRequest(input, limits),
      getLoginsForUser: (subject, clientId) => real.getLoginsForUser(subject, clientId),
      getByAuthenticationRequestId: (authReqId) => real.getByAuthenticationRequestId(authReqId),
      getByInternalId: (internalId) => real.getByInternalId(internalId),
      removeByInternalId: (internalId) => real.removeByInternalId(internalId),
      updateByInternalId: (internalId, changes) => real.updateByInternalId(internalId, changes),
      completeByInternalId: (completion) => real.completeByInternalId(completion),
      pollByAuthenticationRequestId: (authReqId, clientId) => real.pollByAuthenticationRequestId(authReqId, clientId),
    };
    const check =
      backchannelRequestStoreChecks[
        "creates nothing, and throws the check's error, when the caller's admission check refuses"
      ];
    await expect(check(() => careless)).rejects.toThrow();
  });

  it("BackchannelAuthenticationRequestStore: approving on a read (no atomic consume) hands out the tokens twice", async () => {
    const real = storesOf().backchannelRequests;
    const racy: BackchannelAuthenticationRequestStore = {
      createRequest: (input, limits, admit) => real.createRequest(input, limits, admit),
      getLoginsForUser: (subject, clientId) => real.getLoginsForUser(subject, clientId),
      getByAuthenticationRequestId: (authReqId) => real.getByAuthenticationRequestId(authReqId),
      getByInternalId: (internalId) => real.getByInternalId(internalId),
      removeByInternalId: (internalId) => real.removeByInternalId(internalId),
      updateByInternalId: (internalId, changes) => real.updateByInternalId(internalId, changes),
      completeByInternalId: (completion) => real.completeByInternalId(completion),
      // The seed's get-then-update: the read says approved, so hand it out.
      pollByAuthenticationRequestId: async (authReqId, clientId) => {
        const request = await real.getByAuthenticationRequestId(authReqId);
        if (request?.status === "approved" && request.clientId === clientId) return { kind: "approved", request };
        return real.pollByAuthenticationRequestId(authReqId, clientId);
      },
    };
    const check = backchannelRequestStoreChecks["hands an approved request to exactly one of 8 concurrent polls"];
    await expect(check(() => racy)).rejects.toThrow();
  });

  it("ClientStore: a store that remembers a miss does not find a client registered just after", async () => {
    const harness = await d1Clients();
    const misses = new Set<string>();
    const caching: ClientStore = {
      find: async (clientId) => {
        if (misses.has(clientId)) return undefined;
        const client = await harness.store.find(clientId);
        if (!client) misses.add(clientId);
        return client;
      },
    };
    const check =
      clientStoreChecks["does not remember a miss: a client registered after a failed lookup is found at once"];
    await expect(check(async () => ({ ...harness, store: caching }))).rejects.toThrow();
  });

  it("UserStore: a store that matches usernames by pattern (LIKE) finds someone for '%'", async () => {
    const harness = await d1Users();
    const byPattern: UserStore = {
      findBySubject: (sub) => harness.store.findBySubject(sub),
      findByEmail: (email) => harness.store.findByEmail(email),
      findByPhoneNumber: (phone) => harness.store.findByPhoneNumber(phone),
      findByLoginHint: (hint) => harness.store.findByLoginHint(hint),
      replaceUserCodeHash: (sub, previous, next) => harness.store.replaceUserCodeHash(sub, previous, next),
      findByUsername: async (username) => {
        const row = await env.DB.prepare("SELECT sub FROM users WHERE username LIKE ? LIMIT 1")
          .bind(username)
          .first<{ sub: string }>();
        return row ? harness.store.findBySubject(row.sub) : undefined;
      },
    };
    const check =
      userStoreChecks["finds nothing for unknown or malformed lookups, without throwing (no wildcard matches)"];
    await expect(check(async () => ({ ...harness, store: byPattern }))).rejects.toThrow();
  });
});
