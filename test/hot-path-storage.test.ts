/**
 * What the benchmark's hot-path work changed (bench/README.md): the client registration cache,
 * and per-request objects that store nothing when only asked about and nothing after clean-up.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { CodeRecord } from "../src/authorize/code-object";
import { D1ClientStore as ClientRegistry } from "../src/clients/registry";
import { sha256Hex } from "../src/crypto/hash";
import { ageRequest, backchannel, CIBA_GRANT, poll, requestFor, store, stubFor } from "./helpers/ciba";
import { registerClient, registerUser } from "./helpers/fixtures";

const SECRET = "hot-path-secret-0123456789";
await registerClient({
  client_id: "hot-path",
  client_name: "Before",
  client_secret: SECRET,
  grant_types: [CIBA_GRANT],
  backchannel_token_delivery_mode: "poll",
});
await registerUser({ username: "nina", password: "nina-password" });

/** What the request's object stores: its SQLite tables (none expected) and its key-value keys. */
function storageOf(internalId: string): Promise<{ tables: string[]; keys: string[] }> {
  return runInDurableObject(stubFor(internalId), (_instance, state) => ({
    tables: state.storage.sql
      .exec<{ name: string }>(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'",
      )
      .toArray()
      .map((row) => row.name),
    keys: [...state.storage.kv.list()].map(([key]) => key),
  }));
}

describe("client registration cache (CLIENT_CACHE_SECONDS)", () => {
  it("serves a registration from the isolate for its lifetime, and reads D1 again without it", async () => {
    const cached = new ClientRegistry(env.DB, 60);
    expect((await cached.find("hot-path"))?.client_name).toBe("Before");
    await env.DB.prepare("UPDATE clients SET client_name = 'After' WHERE client_id = 'hot-path'").run();
    expect((await cached.find("hot-path"))?.client_name).toBe("Before");
    expect((await new ClientRegistry(env.DB, 0).find("hot-path"))?.client_name).toBe("After");
  });

  it("does not cache an unknown client: once registered, it is found at once", async () => {
    const cached = new ClientRegistry(env.DB, 60);
    expect(await cached.find("late-client")).toBeUndefined();
    await registerClient({ client_id: "late-client", client_secret: SECRET });
    expect((await cached.find("late-client"))?.client_id).toBe("late-client");
  });
});

describe("per-request objects", () => {
  it("store nothing when only asked about (an unknown auth_req_id)", async () => {
    const unknown = "B".repeat(43);
    expect((await poll("hot-path", SECRET, unknown)).body.error).toBe("invalid_grant");
    const id = env.BACKCHANNEL_REQUESTS.idFromName(await sha256Hex(unknown)).toString();
    expect(await storageOf(id)).toEqual({ tables: [], keys: [] });
  });

  it("leave no storage behind once the alarm deletes an expired request", async () => {
    const { body } = await backchannel("hot-path", SECRET, { scope: "openid", login_hint: "nina" });
    const { internalId } = await requestFor(body.auth_req_id);
    // Issue 18: one key of the key-value API, no CREATE TABLE.
    expect(await storageOf(internalId)).toEqual({ tables: [], keys: ["request"] });
    await ageRequest(internalId, 300 + 600);
    await runDurableObjectAlarm(stubFor(internalId));
    expect(await storageOf(internalId)).toEqual({ tables: [], keys: [] });
    expect((await poll("hot-path", SECRET, body.auth_req_id)).body.error).toBe("invalid_grant");
  });

  it("a request stored before issue 18 (in the old request table) is still read, answered and used once", async () => {
    // A live request copied into an object of its own, the way the previous version stored it.
    const { body } = await backchannel("hot-path", SECRET, { scope: "openid", login_hint: "nina" });
    const record = await requestFor(body.auth_req_id);
    const authReqId = "L".repeat(43);
    const id = env.BACKCHANNEL_REQUESTS.idFromName(await sha256Hex(authReqId));
    const legacy = { ...record, internalId: id.toString() };
    await runInDurableObject(env.BACKCHANNEL_REQUESTS.get(id), (_instance, state) => {
      state.storage.sql.exec(
        "CREATE TABLE request (id INTEGER PRIMARY KEY CHECK (id = 1), auth_req_id_hash TEXT NOT NULL, record TEXT NOT NULL)",
      );
      state.storage.sql.exec("INSERT INTO request VALUES (1, 'hash', ?)", JSON.stringify(legacy));
    });
    expect((await store().getByAuthenticationRequestId(authReqId))?.internalId).toBe(legacy.internalId);
    const answered = await store().completeByInternalId({
      internalId: legacy.internalId,
      subject: legacy.subject,
      scopesValuesConsented: ["openid"],
    });
    expect(answered.ok).toBe(true);
    expect((await poll("hot-path", SECRET, authReqId)).status).toBe(200);
    expect((await poll("hot-path", SECRET, authReqId)).body.error).toBe("invalid_grant");
    expect(await storageOf(legacy.internalId)).toEqual({ tables: [], keys: [] });
  });
});

describe("issue 18: an authorization code's object", () => {
  const record = (clientId: string): CodeRecord => ({
    grant: { clientId, subject: "nina", scopes: ["openid"], resources: [], authTime: 1, amr: ["pwd"], grantId: "g-1" },
    redirectUri: "https://hot-path.example/cb",
    codeChallenge: "challenge",
    expiresAt: Math.floor(Date.now() / 1000) + 60,
  });
  const codeStorage = (stub: DurableObjectStub) =>
    runInDurableObject(stub, (_instance, state) => ({
      tables: state.storage.sql
        .exec<{ name: string }>(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'",
        )
        .toArray()
        .map((row) => row.name),
      keys: [...state.storage.kv.list()].map(([key]) => key),
    }));

  it("stores one key of the key-value API, no CREATE TABLE; exchanged once, then reuse; the alarm leaves nothing", async () => {
    const stub = env.AUTHORIZATION_CODES.get(env.AUTHORIZATION_CODES.idFromName(crypto.randomUUID()));
    expect(await stub.create(record("hot-path"))).toBe(true);
    expect(await stub.create(record("hot-path"))).toBe(false);
    expect(await codeStorage(stub)).toEqual({ tables: [], keys: ["code"] });
    expect(await stub.redeem("hot-path", "https://hot-path.example/cb", "challenge", "family-1")).toMatchObject({
      ok: true,
      refreshFamilyId: "family-1",
    });
    expect(await stub.redeem("hot-path", "https://hot-path.example/cb", "challenge", "family-2")).toEqual({
      ok: false,
      reason: "reused",
      grantId: "g-1",
      refreshFamily: "family-1",
    });
    expect(await codeStorage(stub)).toEqual({ tables: [], keys: ["code"] });
    await runDurableObjectAlarm(stub);
    expect(await codeStorage(stub)).toEqual({ tables: [], keys: [] });
    expect(await stub.redeem("hot-path", "https://hot-path.example/cb", "challenge", "family-3")).toEqual({
      ok: false,
      reason: "unknown",
    });
  });

  it("a code stored before issue 18 (in the old code table) is still exchanged once", async () => {
    const stub = env.AUTHORIZATION_CODES.get(env.AUTHORIZATION_CODES.idFromName(crypto.randomUUID()));
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec(
        "CREATE TABLE code (id INTEGER PRIMARY KEY CHECK (id = 1), record TEXT NOT NULL, used INTEGER NOT NULL DEFAULT 0, refresh_family TEXT)",
      );
      state.storage.sql.exec("INSERT INTO code (id, record) VALUES (1, ?)", JSON.stringify(record("hot-path")));
    });
    expect(await stub.redeem("hot-path", "https://hot-path.example/cb", "challenge", "family-1")).toMatchObject({
      ok: true,
    });
    expect(await stub.redeem("hot-path", "https://hot-path.example/cb", "challenge", "family-2")).toMatchObject({
      ok: false,
      reason: "reused",
      refreshFamily: "family-1",
    });
  });
});
