/**
 * Flood limits at /bc-authorize: requests per client and per target user (the Workers
 * rate-limit binding; 429 with Retry-After, RFC 6585 §4), and a cap on the requests a user can
 * have pending (per client and in all; 403 access_denied, CIBA §13 "the OpenID Provider denied
 * the request"), counted atomically in the user's Durable Object when the request is created.
 *
 * The rate limits are wrangler.toml bindings, fixed per binding: these tests run the Worker with
 * the binding swapped for a strict copy declared in vitest.config.ts (limit 3 per 60 s), as a
 * deployment with that configuration would run.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { ageRequest, CIBA_GRANT, requestFor, store } from "./helpers/ciba";
import { registerClient, registerUser } from "./helpers/fixtures";
import { basic, ISSUER, type OAuthErrorBody } from "./helpers/http";
import { BackchannelAuthenticationInteractionService } from "./helpers/provider";
import app from "./worker";

const SECRET = "flood-secret-0123456789";
const CLIENTS = ["flood-a", "flood-b", "flood-c", "flood-d"];

beforeAll(async () => {
  for (const clientId of CLIENTS) {
    await registerClient({
      client_id: clientId,
      client_secret: SECRET,
      grant_types: [CIBA_GRANT],
      backchannel_token_delivery_mode: "poll",
    });
  }
});

async function someone(): Promise<{ username: string; sub: string }> {
  const username = `fl-${crypto.randomUUID().slice(0, 8)}`;
  return { username, sub: await registerUser({ username, password: `${username}-password` }) };
}

/** The Worker with other bindings or settings, as a deployment configured so would run. */
async function send(clientId: string, username: string, overrides: Partial<Cloudflare.Env> = {}) {
  const request = new Request(`${ISSUER}/bc-authorize`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...basic(clientId, SECRET) },
    body: new URLSearchParams({ scope: "openid", login_hint: username }).toString(),
  });
  const ctx = createExecutionContext();
  const response = await app.fetch(request, { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  const body = (await response.json()) as OAuthErrorBody & { auth_req_id?: string };
  return { status: response.status, body, retryAfter: response.headers.get("retry-after") };
}

/** Sends until refused (a fixed window may begin mid-way, so at least `limit` get through). */
async function untilRefused(limit: number, sendOne: () => ReturnType<typeof send>) {
  let accepted = 0;
  for (let i = 0; i < limit * 3; i++) {
    const result = await sendOne();
    if (result.status !== 200) return { accepted, refused: result };
    accepted++;
  }
  throw new Error(`never refused after ${accepted} requests`);
}

describe("RFC 6585 §4 rate limits at /bc-authorize (Workers rate-limit binding)", () => {
  it("answers a client sending too fast with 429, Retry-After and invalid_request (CIBA_BY_CLIENT)", async () => {
    const strict = { CIBA_BY_CLIENT: env.TEST_STRICT_CIBA_BY_CLIENT };
    const users = [await someone(), await someone(), await someone(), await someone(), await someone()];
    let next = 0;
    const { accepted, refused } = await untilRefused(3, () =>
      send("flood-a", users[next++ % 5]?.username ?? "", strict),
    );
    expect(accepted).toBeGreaterThanOrEqual(3);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toBe("invalid_request");
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    // Another client is counted apart.
    expect((await send("flood-b", users[0]?.username ?? "", strict)).status).toBe(200);
  });

  it("answers a client over its limit with 429 even when the user it names does not exist (CIBA_BY_CLIENT first)", async () => {
    const strict = { CIBA_BY_CLIENT: env.TEST_STRICT_CIBA_BY_CLIENT };
    const user = await someone();
    await untilRefused(3, () => send("flood-c", user.username, strict));
    const unknown = await send("flood-c", `nobody-${crypto.randomUUID()}`, strict);
    expect(unknown.status).toBe(429);
    expect(unknown.body.error).toBe("invalid_request");
  });

  it("answers requests flooding one user, from any client, with 429 and Retry-After (CIBA_BY_USER)", async () => {
    const strict = { CIBA_BY_USER: env.TEST_STRICT_CIBA_BY_USER };
    const target = await someone();
    let next = 0;
    const { accepted, refused } = await untilRefused(3, () => send(CLIENTS[next++ % 4] ?? "", target.username, strict));
    expect(accepted).toBeGreaterThanOrEqual(3);
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    // The refused request left no trace: the user's list holds the accepted ones only.
    expect(await store().getLoginsForUser(target.sub)).toHaveLength(accepted);
    // Another user is counted apart.
    expect((await send("flood-a", (await someone()).username, strict)).status).toBe(200);
  });
});

describe("CIBA §13 access_denied: a cap on the requests a user has pending", () => {
  it("refuses a client's request beyond CIBA_MAX_PENDING_PER_USER_AND_CLIENT with 403 access_denied", async () => {
    const vars = { CIBA_MAX_PENDING_PER_USER_AND_CLIENT: "2" };
    const user = await someone();
    expect((await send("flood-a", user.username, vars)).status).toBe(200);
    const second = await send("flood-a", user.username, vars);
    expect(second.status).toBe(200);
    const third = await send("flood-a", user.username, vars);
    expect(third.status).toBe(403);
    expect(third.body.error).toBe("access_denied");
    // Other clients still reach the user.
    expect((await send("flood-b", user.username, vars)).status).toBe(200);
    // An answered request no longer counts...
    const { internalId } = await requestFor(second.body.auth_req_id ?? "");
    const outcome = await new BackchannelAuthenticationInteractionService(env).completeLoginRequest(
      { internalId, scopesValuesConsented: [] },
      { subject: user.sub },
    );
    expect(outcome.ok).toBe(true);
    const fourth = await send("flood-a", user.username, vars);
    expect(fourth.status).toBe(200);
    expect((await send("flood-a", user.username, vars)).status).toBe(403);
    // ...nor does an expired one.
    await ageRequest((await requestFor(fourth.body.auth_req_id ?? "")).internalId, 301);
    expect((await send("flood-a", user.username, vars)).status).toBe(200);
  });

  it("refuses a request beyond CIBA_MAX_PENDING_PER_USER from all clients together", async () => {
    const vars = { CIBA_MAX_PENDING_PER_USER: "3" };
    const user = await someone();
    for (const clientId of CLIENTS.slice(0, 3)) expect((await send(clientId, user.username, vars)).status).toBe(200);
    const refused = await send("flood-d", user.username, vars);
    expect(refused.status).toBe(403);
    expect(refused.body.error).toBe("access_denied");
    expect(await store().getLoginsForUser(user.sub)).toHaveLength(3);
  });

  it("holds under concurrency: of 8 requests sent at once, exactly the cap is created", async () => {
    const vars = { CIBA_MAX_PENDING_PER_USER_AND_CLIENT: "2" };
    const user = await someone();
    const results = await Promise.all(Array.from({ length: 8 }, () => send("flood-c", user.username, vars)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(2);
    expect(results.filter((r) => r.status === 403)).toHaveLength(6);
    expect(await store().getLoginsForUser(user.sub)).toHaveLength(2);
  });

  it("applies the defaults, 5 per client and 20 in all, when neither is set", async () => {
    // Empty means unset (src/config.ts); the suite's own configuration raises both.
    const unset = { CIBA_MAX_PENDING_PER_USER: "", CIBA_MAX_PENDING_PER_USER_AND_CLIENT: "" };
    const user = await someone();
    for (let i = 0; i < 5; i++) expect((await send("flood-d", user.username, unset)).status).toBe(200);
    expect((await send("flood-d", user.username, unset)).status).toBe(403);
  });
});
