/**
 * The user's pending list in the user's Durable Object (issues 16 and 18): listing is one call
 * to that object whatever the number of requests (no request object is asked), and a poll flow
 * that ends in tokens leaves no storage behind in the request's object, and in the user's only
 * the answer (the pending entry overwritten in place: the account page's history and the grant
 * sign-out revokes), with nothing written to D1.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { userObjectName } from "../src/users/user-object";
import { backchannel, CIBA_GRANT, poll, requestFor, store, stubFor } from "./helpers/ciba";
import { dropMemory } from "./helpers/eviction";
import { registerClient, registerUser } from "./helpers/fixtures";
import { BackchannelAuthenticationInteractionService } from "./helpers/provider";

const SECRET = "user-list-secret-0123456789";

beforeAll(async () => {
  await registerClient({
    client_id: "user-list",
    client_name: "List kiosk",
    client_secret: SECRET,
    grant_types: [CIBA_GRANT],
    backchannel_token_delivery_mode: "poll",
  });
});

async function someone() {
  const username = `ul-${crypto.randomUUID().slice(0, 8)}`;
  return { username, sub: await registerUser({ username, password: `${username}-password` }) };
}

function userObjectOf(sub: string) {
  return userObjectName(sub).then((name) => env.USERS.get(env.USERS.idFromName(name)));
}

const keysOf = (stub: DurableObjectStub<undefined> | ReturnType<typeof stubFor>) =>
  runInDurableObject(stub as DurableObjectStub<undefined>, (_instance, state) =>
    [...state.storage.kv.list()].map(([key]) => key),
  );

describe("a user's pending list", () => {
  it("is one call to the user's object whatever the number: the request objects are not asked", async () => {
    const { username, sub } = await someone();
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const { body } = await backchannel("user-list", SECRET, { scope: "openid", login_hint: username });
      ids.push((await requestFor(body.auth_req_id)).internalId);
    }
    // Take every request object's storage away: a listing that asked them would find nothing.
    for (const id of ids) {
      await runInDurableObject(stubFor(id), (_instance, state) => state.storage.deleteAll());
    }
    const listed = await store().getLoginsForUser(sub);
    expect(listed.map((r) => r.internalId).sort()).toEqual([...ids].sort());
    expect(listed[0]).toMatchObject({
      subject: sub,
      clientId: "user-list",
      clientName: "List kiosk",
      status: "pending",
    });
    expect(listed.every((r) => r.deliverySecrets === undefined)).toBe(true);
  });

  it("issue 18: a poll flow that ends in tokens leaves no storage in the request's object, the answer in place of the user's entry, and no D1 row", async () => {
    const { username, sub } = await someone();
    const { body } = await backchannel("user-list", SECRET, { scope: "openid", login_hint: username });
    const { internalId } = await requestFor(body.auth_req_id);
    const user = await userObjectOf(sub);
    expect(await keysOf(stubFor(internalId))).toEqual(["request"]);
    expect(await keysOf(user)).toEqual([`pending:${internalId}`]);
    const answered = await new BackchannelAuthenticationInteractionService(env).completeLoginRequest(
      { internalId, scopesValuesConsented: ["openid"] },
      { subject: sub },
    );
    expect(answered.ok).toBe(true);
    // The same key, now the answer: off the pending list, in the user's history.
    expect(await keysOf(user)).toEqual([`pending:${internalId}`]);
    expect(await store().getLoginsForUser(sub)).toEqual([]);
    const [kept] = await user.answers();
    expect(kept?.answer).toMatchObject({ decision: "approved", scopes: ["openid"], grantId: expect.any(String) });
    // session_grants is the one D1 table a CIBA flow wrote to (ciba_decisions is gone, 0090).
    const d1Rows = async () =>
      Number((await env.DB.prepare("SELECT COUNT(*) AS n FROM session_grants WHERE subject = ?").bind(sub).first())?.n);
    const tokens = await poll("user-list", SECRET, body.auth_req_id);
    expect(tokens.status).toBe(200);
    // The access token names the grant the answer keeps (so sign-out can revoke it).
    const claims = JSON.parse(
      atob((tokens.body.access_token as string).split(".")[1]?.replace(/-/g, "+").replace(/_/g, "/") ?? ""),
    );
    expect(claims.grant_id).toBe(kept?.answer.grantId);
    expect(await d1Rows()).toBe(0);
    expect(await keysOf(stubFor(internalId))).toEqual([]);
    const alarm = await runInDurableObject(stubFor(internalId), (_instance, state) => state.storage.getAlarm());
    expect(alarm).toBeNull();
    // Used exactly once: the second poll finds nothing.
    expect((await poll("user-list", SECRET, body.auth_req_id)).body.error).toBe("invalid_grant");
  });

  it("issue 18: a poll-mode answer writes no row in the request's object; a new instance learns it from the user's answer entry", async () => {
    const { username, sub } = await someone();
    const { body } = await backchannel("user-list", SECRET, { scope: "openid", login_hint: username });
    const { internalId } = await requestFor(body.auth_req_id);
    const stored = () =>
      runInDurableObject(stubFor(internalId), (_instance, state) =>
        JSON.parse(String(state.storage.kv.get("request"))),
      ) as Promise<{ isComplete: boolean; status: string }>;
    const answered = await new BackchannelAuthenticationInteractionService(env).completeLoginRequest(
      { internalId, scopesValuesConsented: ["openid"] },
      { subject: sub },
    );
    expect(answered.ok).toBe(true);
    // The request's own record was not rewritten: the answer lives in the user's object.
    expect(await stored()).toMatchObject({ isComplete: false, status: "pending" });
    expect((await store().getByInternalId(internalId))?.status).toBe("approved");
    // A second answer is refused, whichever instance gets it.
    await dropMemory(env.BACKCHANNEL_REQUESTS, "evicted");
    const again = await new BackchannelAuthenticationInteractionService(env).completeLoginRequest(
      { internalId, scopesValuesConsented: [] },
      { subject: sub },
    );
    expect(again).toEqual({ ok: false, reason: "already_completed" });
    await dropMemory(env.BACKCHANNEL_REQUESTS, "reset");
    const tokens = await poll("user-list", SECRET, body.auth_req_id);
    expect(tokens.status).toBe(200);
    const [kept] = await (await userObjectOf(sub)).answers();
    const claims = JSON.parse(
      atob((tokens.body.access_token as string).split(".")[1]?.replace(/-/g, "+").replace(/_/g, "/") ?? ""),
    );
    expect(claims.grant_id).toBe(kept?.answer.grantId);
    expect((await poll("user-list", SECRET, body.auth_req_id)).body.error).toBe("invalid_grant");
  });
});
