/**
 * Storage reads are parsed, not cast (src/parse.ts): a record that does not have the shape
 * edge-op writes fails closed. It is treated as absent (a request, a client, a code unknown) or,
 * where absent would let something through (a replayed jti), as present; the answer is a 4xx,
 * never a 500 from a TypeError, and the log says which store held it, never the record.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { readStored, str } from "../src/parse";
import { backchannel, CIBA_GRANT, poll, requestFor, stubFor } from "./helpers/ciba";
import { registerClient, registerUser } from "./helpers/fixtures";
import { basic, jsonOf, type OAuthErrorBody, postForm } from "./helpers/http";
import { BackchannelAuthenticationInteractionService } from "./helpers/provider";

const SECRET = "parsing-secret-0123456789";

beforeAll(async () => {
  await registerClient({
    client_id: "parsing",
    client_secret: SECRET,
    grant_types: [CIBA_GRANT, "client_credentials"],
    backchannel_token_delivery_mode: "poll",
  });
  await registerUser({ username: "parsa", password: "parsa-password" });
});

afterEach(() => vi.restoreAllMocks());

function errorLines() {
  const lines: string[] = [];
  vi.spyOn(console, "error").mockImplementation((line: unknown) => {
    lines.push(String(line));
  });
  return lines;
}

describe("a damaged record fails closed", () => {
  it("a backchannel request whose record does not parse is unknown: invalid_grant, not found, logged", async () => {
    const { body } = await backchannel("parsing", SECRET, { scope: "openid", login_hint: "parsa" });
    const { internalId, subject } = await requestFor(body.auth_req_id);
    await runInDurableObject(stubFor(internalId), (_instance, state) => {
      state.storage.kv.put("request", JSON.stringify({ internalId, status: 42 }));
    });
    const lines = errorLines();
    const polled = await poll("parsing", SECRET, body.auth_req_id);
    expect(polled.status).toBe(400);
    expect(polled.body.error).toBe("invalid_grant");
    const outcome = await new BackchannelAuthenticationInteractionService(env).completeLoginRequest(
      { internalId, scopesValuesConsented: ["openid"] },
      { subject },
    );
    expect(outcome).toEqual({ ok: false, reason: "not_found" });
    const logged = lines.map((line) => JSON.parse(line));
    expect(logged).toContainEqual({
      event: "storage_record_malformed",
      store: "backchannel request",
      problem: expect.stringMatching(/^clientId: expected a string|^creationTime/),
    });
    expect(lines.join("\n")).not.toContain(internalId.slice(0, 20));
  });

  it("a clients row that does not parse is no client: 401 invalid_client, not a 500", async () => {
    await registerClient({ client_id: "damaged", client_secret: SECRET });
    await env.DB.prepare("UPDATE clients SET grant_types = 'not json' WHERE client_id = 'damaged'").run();
    errorLines();
    const response = await jsonOf<OAuthErrorBody>(
      await postForm("/token", { grant_type: "client_credentials" }, basic("damaged", SECRET)),
    );
    expect(response.status).toBe(401);
    expect(response.body.error).toBe("invalid_client");
  });

  it("a replay-guard entry that does not parse still counts as seen: the jti is refused", async () => {
    const guard = env.REPLAY_GUARD.get(env.REPLAY_GUARD.idFromName("parsing-probe"));
    expect(await guard.claim("h1", Math.floor(Date.now() / 1000) + 60)).toBe(true);
    await runInDurableObject(guard, (_instance, state) => {
      state.storage.sql.exec("UPDATE seen_jti SET expires_at = 'soon' WHERE jti_hash = 'h1'");
    });
    errorLines();
    expect(await guard.claim("h1", Math.floor(Date.now() / 1000) + 60)).toBe(false);
  });

  it("reads a value of the right shape as it is, and nothing else", () => {
    errorLines();
    expect(readStored("probe", str, "text")).toBe("text");
    expect(readStored("probe", str, 7)).toBeUndefined();
  });
});
