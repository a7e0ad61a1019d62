/**
 * What the benchmark's hot-path work changed (bench/README.md): the client registration cache,
 * and per-request objects that store nothing when only asked about and nothing after clean-up.
 */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
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
