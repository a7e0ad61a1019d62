/**
 * CIBA §7.1 user_code against guessing: wrong codes are limited per user and per client with a
 * strongly consistent counter (a Durable Object), the lock answers 429 with Retry-After, and
 * the code is stored with a keyed hash (HMAC with a key derived from DATA_ENCRYPTION_KEY), so a
 * copy of the users table cannot be reversed by trying every short code.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../src/crypto/hash";
import { userRow } from "../src/users/store";
import { USER_CODE_MIN_LENGTH } from "../src/users/user-code";
import { CIBA_GRANT } from "./helpers/ciba";
import { registerClient, registerUser } from "./helpers/fixtures";
import { basic, call, type OAuthErrorBody, type Vars } from "./helpers/http";

const SECRET = "guard-secret-0123456789";
const CODE = "842519";

beforeAll(async () => {
  for (const clientId of ["guard-till", "guard-other", "guard-sweeper"]) {
    await registerClient({
      client_id: clientId,
      client_secret: SECRET,
      grant_types: [CIBA_GRANT],
      backchannel_token_delivery_mode: "poll",
      backchannel_user_code_parameter: true,
    });
  }
});

/** A new user with the code CODE (each test its own, so counters start at zero). */
async function someone(): Promise<{ username: string; sub: string }> {
  const username = `uc-${crypto.randomUUID().slice(0, 8)}`;
  const sub = await registerUser({ username, password: `${username}-password`, user_code: CODE });
  return { username, sub };
}

async function send(username: string, userCode: string, clientId = "guard-till", vars: Vars = {}) {
  const response = await call(
    "/bc-authorize",
    {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...basic(clientId, SECRET) },
      body: new URLSearchParams({ scope: "openid", login_hint: username, user_code: userCode }).toString(),
    },
    vars,
  );
  const body = (await response.json()) as OAuthErrorBody & { auth_req_id?: string };
  return { status: response.status, body, retryAfter: response.headers.get("retry-after") };
}

async function storedHash(sub: string): Promise<string | null> {
  const row = await env.DB.prepare("SELECT user_code_hash FROM users WHERE sub = ?")
    .bind(sub)
    .first<{ user_code_hash: string | null }>();
  return row?.user_code_hash ?? null;
}

describe("storage: a keyed hash, not a bare SHA-256", () => {
  it("stores neither the code nor its SHA-256, and two users with one code get different values", async () => {
    const first = await someone();
    const second = await someone();
    const stored = await storedHash(first.sub);
    expect(stored).not.toBeNull();
    expect(stored).not.toContain(CODE);
    expect(stored).not.toBe(await sha256Hex(CODE));
    expect(stored).toMatch(/^hmac-sha256\$[A-Za-z0-9_-]{43}$/);
    expect(await storedHash(second.sub)).not.toBe(stored);
  });

  it("cannot be checked without the server key: the same code under another DATA_ENCRYPTION_KEY does not match", async () => {
    const { username } = await someone();
    const otherKey = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
    const withOtherKey = await send(username, CODE, "guard-other", { DATA_ENCRYPTION_KEY: otherKey });
    expect(withOtherKey.body.error).toBe("invalid_user_code");
    expect((await send(username, CODE, "guard-other")).status).toBe(200);
  });

  it(`refuses to store a code shorter than ${USER_CODE_MIN_LENGTH} characters`, async () => {
    await expect(
      userRow({ username: "short-code", password: "short-code-password", user_code: "4711" }, env.DATA_ENCRYPTION_KEY),
    ).rejects.toThrow(/at least/);
  });

  it("accepts a code stored by an older edge-op (bare SHA-256) once, and stores it keyed from then on", async () => {
    const { username, sub } = await someone();
    await env.DB.prepare("UPDATE users SET user_code_hash = ? WHERE sub = ?")
      .bind(await sha256Hex("2468"), sub)
      .run();
    expect((await send(username, "1357")).body.error).toBe("invalid_user_code");
    expect((await send(username, "2468")).status).toBe(200);
    expect(await storedHash(sub)).toMatch(/^hmac-sha256\$/);
    expect((await send(username, "2468")).status).toBe(200);
  });
});

describe("CIBA §13 invalid_user_code, then a lockout per user", () => {
  it("answers invalid_user_code for the first 5 wrong codes, then 429 with Retry-After, even for the right code", async () => {
    const { username } = await someone();
    for (let i = 0; i < 5; i++) {
      const wrong = await send(username, `00000${i}`);
      expect(wrong.status).toBe(400);
      expect(wrong.body.error).toBe("invalid_user_code");
    }
    const locked = await send(username, CODE);
    expect(locked.status).toBe(429);
    expect(locked.body.error).toBe("invalid_user_code");
    expect(Number(locked.retryAfter)).toBeGreaterThan(0);
    expect(Number(locked.retryAfter)).toBeLessThanOrEqual(900);
    // The lock is per user, whatever client asks.
    expect((await send(username, CODE, "guard-other")).status).toBe(429);
  });

  it("lets at most 5 of 40 concurrent wrong guesses be checked", async () => {
    const { username } = await someone();
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, i) => send(username, `9${String(i).padStart(5, "0")}`)),
    );
    const checked = results.filter((r) => r.status === 400 && r.body.error === "invalid_user_code");
    const refused = results.filter((r) => r.status === 429);
    expect(checked.length).toBeLessThanOrEqual(5);
    expect(checked.length + refused.length).toBe(40);
  });

  it("does not count a right code as a failure", async () => {
    const { username } = await someone();
    for (let i = 0; i < 4; i++) expect((await send(username, `11111${i}`)).status).toBe(400);
    for (let i = 0; i < 3; i++) expect((await send(username, CODE)).status).toBe(200);
    expect((await send(username, "111119")).status).toBe(400);
    expect((await send(username, CODE)).status).toBe(429);
  });

  it("opens again when the lock has run out", async () => {
    const { username, sub } = await someone();
    for (let i = 0; i < 6; i++) await send(username, `22222${i}`);
    expect((await send(username, CODE)).status).toBe(429);
    const stub = env.USER_CODE_ATTEMPTS.get(env.USER_CODE_ATTEMPTS.idFromName(`user:${sub}`));
    await runInDurableObject(stub, (_instance, state) => {
      state.storage.sql.exec("UPDATE attempts SET window_end = 1");
    });
    expect((await send(username, CODE)).status).toBe(200);
  });
});

describe("a lockout per client, across users", () => {
  it("stops a client that spreads its guesses over many users (USER_CODE_CLIENT_MAX_FAILURES)", async () => {
    const vars = { USER_CODE_CLIENT_MAX_FAILURES: "3" };
    const users = [await someone(), await someone(), await someone(), await someone()];
    for (const user of users.slice(0, 3)) {
      expect((await send(user.username, "333333", "guard-sweeper", vars)).body.error).toBe("invalid_user_code");
    }
    const locked = await send(users[3]?.username ?? "", CODE, "guard-sweeper", vars);
    expect(locked.status).toBe(429);
    expect(Number(locked.retryAfter)).toBeGreaterThan(0);
    // The user is not locked: another client (within its own allowance) gets through.
    expect((await send(users[3]?.username ?? "", CODE, "guard-till")).status).toBe(200);
  });
});
