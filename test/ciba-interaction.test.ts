/**
 * The user's side of CIBA through BackchannelAuthenticationInteractionService and the
 * BackchannelAuthenticationRequestStore operations of the seed.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { ageRequest, backchannel, CIBA_GRANT, requestFor, store } from "./helpers/ciba";
import { registerClient, registerUser } from "./helpers/fixtures";
import { BackchannelAuthenticationInteractionService } from "./helpers/provider";

const SECRET = "desk-secret-0123456789";
let erin = "";
let frank = "";
const interaction = () => new BackchannelAuthenticationInteractionService(env);

beforeAll(async () => {
  await registerClient({
    client_id: "desk",
    client_name: "Help desk",
    client_secret: SECRET,
    grant_types: [CIBA_GRANT],
    backchannel_token_delivery_mode: "poll",
    scope: "openid profile email",
  });
  erin = await registerUser({ username: "erin", password: "erin-password" });
  frank = await registerUser({ username: "frank", password: "frank-password" });
});

async function newRequest(user = "erin", scope = "openid profile email") {
  const { body } = await backchannel("desk", SECRET, { scope, login_hint: user, binding_message: "Desk 3" });
  return requestFor(body.auth_req_id);
}

describe("getPendingLoginRequestsForCurrentUser", () => {
  it("lists the user's pending requests with client name, binding message, scopes and expiry", async () => {
    const request = await newRequest();
    const pending = await interaction().getPendingLoginRequestsForCurrentUser({ subject: erin });
    const listed = pending.find((p) => p.internalId === request.internalId);
    expect(listed).toMatchObject({
      clientId: "desk",
      clientName: "Help desk",
      bindingMessage: "Desk 3",
      requestedScopes: ["openid", "profile", "email"],
      expiresAt: request.creationTime + 300,
      approvalUrl: `http://localhost:8787/ciba/requests/${request.internalId}`,
    });
  });

  it("never lists another user's, a completed or an expired request", async () => {
    const franks = await newRequest("frank");
    const completed = await newRequest();
    await interaction().completeLoginRequest(
      { internalId: completed.internalId, scopesValuesConsented: ["openid"] },
      { subject: erin },
    );
    const expired = await newRequest();
    await ageRequest(expired.internalId, 301);
    const ids = (await interaction().getPendingLoginRequestsForCurrentUser({ subject: erin })).map((p) => p.internalId);
    expect(ids).not.toContain(franks.internalId);
    expect(ids).not.toContain(completed.internalId);
    expect(ids).not.toContain(expired.internalId);
  });
});

describe("getLoginRequestByInternalId", () => {
  it("returns the request, and nothing for malformed or unknown ids", async () => {
    const request = await newRequest();
    expect((await interaction().getLoginRequestByInternalId(request.internalId))?.subject).toBe(erin);
    const unknown = env.BACKCHANNEL_REQUESTS.newUniqueId().toString();
    for (const id of ["", "zz", "0".repeat(64), unknown, request.internalId.toUpperCase(), "../x"]) {
      expect(await interaction().getLoginRequestByInternalId(id)).toBeUndefined();
    }
  });
});

describe("completeLoginRequest", () => {
  it("approves with the consented scopes, always keeping openid", async () => {
    const request = await newRequest();
    const outcome = await interaction().completeLoginRequest(
      { internalId: request.internalId, scopesValuesConsented: ["email"], description: "at the desk" },
      { subject: erin, sessionId: "s-1" },
    );
    expect(outcome.ok).toBe(true);
    const stored = await store().getByInternalId(request.internalId);
    expect(stored).toMatchObject({
      isComplete: true,
      status: "approved",
      authorizedScopes: ["openid", "email"],
      sessionId: "s-1",
      description: "at the desk",
    });
  });

  it("denies when no scope is consented", async () => {
    const request = await newRequest();
    expect((await interaction().completeLoginRequest({ internalId: request.internalId }, { subject: erin })).ok).toBe(
      true,
    );
    expect((await store().getByInternalId(request.internalId))?.status).toBe("denied");
  });

  it("refuses scopes that were not requested", async () => {
    const request = await newRequest("erin", "openid");
    const outcome = await interaction().completeLoginRequest(
      { internalId: request.internalId, scopesValuesConsented: ["openid", "email"] },
      { subject: erin },
    );
    expect(outcome).toEqual({ ok: false, reason: "scope_not_requested" });
  });

  it("refuses another user, whether current or named as subject", async () => {
    const request = await newRequest();
    const asFrank = await interaction().completeLoginRequest(
      { internalId: request.internalId, scopesValuesConsented: ["openid"] },
      { subject: frank },
    );
    expect(asFrank).toEqual({ ok: false, reason: "wrong_user" });
    const named = await interaction().completeLoginRequest({
      internalId: request.internalId,
      scopesValuesConsented: ["openid"],
      subject: frank,
    });
    expect(named).toEqual({ ok: false, reason: "wrong_user" });
    expect(
      await interaction().completeLoginRequest({ internalId: request.internalId, scopesValuesConsented: ["openid"] }),
    ).toEqual({ ok: false, reason: "wrong_user" });
  });

  it("refuses completing twice", async () => {
    const request = await newRequest();
    const answer = { internalId: request.internalId, scopesValuesConsented: ["openid"] };
    expect((await interaction().completeLoginRequest(answer, { subject: erin })).ok).toBe(true);
    expect(await interaction().completeLoginRequest(answer, { subject: erin })).toEqual({
      ok: false,
      reason: "already_completed",
    });
    expect(
      await interaction().completeLoginRequest({ ...answer, scopesValuesConsented: [] }, { subject: erin }),
    ).toEqual({
      ok: false,
      reason: "already_completed",
    });
  });

  it("lets exactly one of two concurrent answers win", async () => {
    const request = await newRequest();
    const [approve, deny] = await Promise.all([
      interaction().completeLoginRequest(
        { internalId: request.internalId, scopesValuesConsented: ["openid"] },
        { subject: erin },
      ),
      interaction().completeLoginRequest(
        { internalId: request.internalId, scopesValuesConsented: [] },
        { subject: erin },
      ),
    ]);
    expect([approve.ok, deny.ok].filter(Boolean)).toHaveLength(1);
  });

  it("refuses after expiry, and for unknown ids", async () => {
    const request = await newRequest();
    await ageRequest(request.internalId, 300);
    expect(
      await interaction().completeLoginRequest(
        { internalId: request.internalId, scopesValuesConsented: ["openid"] },
        { subject: erin },
      ),
    ).toEqual({ ok: false, reason: "expired" });
    expect(
      await interaction().completeLoginRequest(
        { internalId: "f".repeat(64), scopesValuesConsented: ["openid"] },
        { subject: erin },
      ),
    ).toEqual({ ok: false, reason: "not_found" });
  });
});

describe("BackchannelAuthenticationRequestStore operations", () => {
  it("updateByInternalId changes the description; removeByInternalId deletes the request and its listing", async () => {
    const request = await newRequest();
    expect(
      await store().updateByInternalId(request.internalId, { description: "renamed", bindingMessage: "Desk 3" }),
    ).toBe(true);
    expect((await store().getByInternalId(request.internalId))?.description).toBe("renamed");
    await store().removeByInternalId(request.internalId);
    expect(await store().getByInternalId(request.internalId)).toBeUndefined();
    const ids = (await store().getLoginsForUser(erin)).map((r) => r.internalId);
    expect(ids).not.toContain(request.internalId);
  });
});
