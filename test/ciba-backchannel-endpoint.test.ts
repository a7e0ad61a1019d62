/** The backchannel authentication endpoint, line by line of CIBA §7 (checklist C1–C17). */
import { env } from "cloudflare:workers";
import { importJWK, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../src/crypto/hash";
import { mintIdToken } from "../src/tokens/jwt";
import { loadKeys } from "../src/tokens/keys";
import { backchannel, CIBA_GRANT, rawStorage, requestFor, store } from "./helpers/ciba";
import { registerClient, registerUser } from "./helpers/fixtures";
import { call, ISSUER, jsonOf, postForm } from "./helpers/http";

const SECRET = "kiosk-secret-0123456789";
let alice = "";

beforeAll(async () => {
  await registerClient({
    client_id: "kiosk",
    client_secret: SECRET,
    grant_types: [CIBA_GRANT],
    backchannel_token_delivery_mode: "poll",
    scope: "openid profile email",
  });
  await registerClient({
    client_id: "teller",
    client_secret: SECRET,
    grant_types: [CIBA_GRANT],
    backchannel_token_delivery_mode: "poll",
    backchannel_user_code_parameter: true,
    ciba_request_lifetime: 120,
    ciba_polling_interval: 2,
  });
  await registerClient({ client_id: "not-ciba", client_secret: SECRET, grant_types: ["client_credentials"] });
  alice = await registerUser({
    username: "alice",
    password: "alice-password",
    email: "alice@example.com",
    phone_number: "+15550100001",
    user_code: "471147",
  });
});

const start = (params: Record<string, string> | string, clientId = "kiosk") => backchannel(clientId, SECRET, params);
const valid = { scope: "openid profile", login_hint: "alice" };

describe("C1 discovery", () => {
  it("advertises the endpoint, the three delivery modes, user_code support, the CIBA grant and asymmetric signing algs", async () => {
    const { body } = await jsonOf(await call("/.well-known/openid-configuration"));
    expect(body.backchannel_authentication_endpoint).toBe(`${ISSUER}/bc-authorize`);
    expect(body.backchannel_token_delivery_modes_supported).toEqual(["poll", "ping", "push"]);
    expect(body.backchannel_user_code_parameter_supported).toBe(true);
    const algs = body.backchannel_authentication_request_signing_alg_values_supported as string[];
    expect(algs.length).toBeGreaterThan(0);
    for (const alg of algs) expect(alg).not.toMatch(/^(none|HS\d+)$/);
    expect(body.grant_types_supported).toContain(CIBA_GRANT);
  });
});

describe("C3 method and content type", () => {
  it("answers GET with 405 and a JSON body with 400", async () => {
    expect((await call("/bc-authorize")).status).toBe(405);
    const json = await call("/bc-authorize", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(valid),
    });
    expect(json.status).toBe(400);
  });
});

describe("C4 client authentication", () => {
  it("requires it: none or a wrong secret is 401 invalid_client", async () => {
    const none = await postForm("/bc-authorize", { ...valid, client_id: "kiosk" });
    expect(none.status).toBe(401);
    const wrong = await backchannel("kiosk", "wrong-secret-0123456789", valid);
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe("invalid_client");
  });
});

describe("C6 scope", () => {
  it("is required and must contain openid (invalid_scope)", async () => {
    const cases: Record<string, string>[] = [{ login_hint: "alice" }, { login_hint: "alice", scope: "profile email" }];
    for (const params of cases) {
      const { status, body } = await start(params);
      expect(status).toBe(400);
      expect(body.error).toBe("invalid_scope");
    }
  });

  it("may only hold the client's registered scopes", async () => {
    const { status, body } = await start({ login_hint: "alice", scope: "openid offline_access" });
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_scope");
  });
});

describe("C7 exactly one hint", () => {
  it("refuses none and refuses two with invalid_request", async () => {
    const none = await start({ scope: "openid" });
    expect(none.body.error).toBe("invalid_request");
    const two = await start({ scope: "openid", login_hint: "alice", id_token_hint: "x.y.z" });
    expect(two.status).toBe(400);
    expect(two.body.error).toBe("invalid_request");
  });
});

describe("C8 resolving the user", () => {
  it("finds the user by username, e-mail or phone number", async () => {
    for (const hint of ["alice", "alice@example.com", "+15550100001"]) {
      const { status, body } = await start({ scope: "openid", login_hint: hint });
      expect(status).toBe(200);
      expect((await requestFor(body.auth_req_id)).subject).toBe(alice);
    }
  });

  it("answers an unknown login_hint with unknown_user_id", async () => {
    const { status, body } = await start({ scope: "openid", login_hint: "mallory" });
    expect(status).toBe(400);
    expect(body.error).toBe("unknown_user_id");
  });

  it("accepts an id_token_hint this provider issued to the client, even expired", async () => {
    const keys = await loadKeys(env.SIGNING_KEYS);
    const idToken = await mintIdToken(keys, {
      issuer: ISSUER,
      subject: alice,
      clientId: "kiosk",
      lifetime: -3600 + 60,
      authTime: 0,
    });
    const { status, body } = await start({ scope: "openid", id_token_hint: idToken });
    expect(status).toBe(200);
    expect((await requestFor(body.auth_req_id)).subject).toBe(alice);
  });

  it("refuses an id_token_hint issued to another client, or not signed by this provider", async () => {
    const keys = await loadKeys(env.SIGNING_KEYS);
    const forOther = await mintIdToken(keys, {
      issuer: ISSUER,
      subject: alice,
      clientId: "teller",
      lifetime: 60,
      authTime: 0,
    });
    expect((await start({ scope: "openid", id_token_hint: forOther })).body.error).toBe("invalid_request");
    const forged = await new SignJWT({ sub: alice, aud: "kiosk", iss: ISSUER })
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode("k".repeat(32)));
    expect((await start({ scope: "openid", id_token_hint: forged })).body.error).toBe("invalid_request");
  });

  async function hintToken(claims: Record<string, unknown>, exp: number) {
    const key = await importJWK(JSON.parse(env.TEST_HINT_ISSUER_PRIVATE_JWK), "ES256");
    return new SignJWT(claims)
      .setProtectedHeader({ alg: "ES256", kid: "hint-1" })
      .setIssuer("https://hints.example")
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(key);
  }

  it("accepts a login_hint_token from a trusted issuer naming the user by sub_id", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await hintToken({ sub_id: { format: "email", email: "alice@example.com" } }, now + 60);
    const { status, body } = await start({ scope: "openid", login_hint_token: token });
    expect(status).toBe(200);
    expect((await requestFor(body.auth_req_id)).subject).toBe(alice);
  });

  it("answers an expired login_hint_token with expired_login_hint_token", async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = await hintToken({ sub: alice }, now - 120);
    const { status, body } = await start({ scope: "openid", login_hint_token: token });
    expect(status).toBe(400);
    expect(body.error).toBe("expired_login_hint_token");
  });

  it("refuses a login_hint_token from an untrusted issuer, and one naming nobody", async () => {
    const untrusted = await new SignJWT({ sub: alice })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer("https://evil.example")
      .setExpirationTime("1m")
      .sign(new TextEncoder().encode("k".repeat(32)));
    expect((await start({ scope: "openid", login_hint_token: untrusted })).body.error).toBe("invalid_request");
    const nobody = await hintToken({ sub: "no-such-user" }, Math.floor(Date.now() / 1000) + 60);
    expect((await start({ scope: "openid", login_hint_token: nobody })).body.error).toBe("unknown_user_id");
  });
});

describe("C10 binding_message", () => {
  it("is stored as sent when it can be displayed", async () => {
    const { body } = await start({ ...valid, binding_message: "Kiosk 12 · code W4SP ✓" });
    expect((await requestFor(body.auth_req_id)).bindingMessage).toBe("Kiosk 12 · code W4SP ✓");
  });

  it("refuses one too long or with characters that cannot be displayed (invalid_binding_message)", async () => {
    for (const message of ["x".repeat(65), "line\nbreak", "tab\there", "bell\u0007", "zero\u200bwidth"]) {
      const { status, body } = await start({ ...valid, binding_message: message });
      expect(status, JSON.stringify(message)).toBe(400);
      expect(body.error).toBe("invalid_binding_message");
    }
  });
});

describe("C11 user_code", () => {
  it("is required from a client that registered backchannel_user_code_parameter", async () => {
    const { status, body } = await start(valid, "teller");
    expect(status).toBe(400);
    expect(body.error).toBe("missing_user_code");
  });

  it("must match the user's code (invalid_user_code)", async () => {
    expect((await start({ ...valid, user_code: "000000" }, "teller")).body.error).toBe("invalid_user_code");
    expect((await start({ ...valid, user_code: "471147" }, "teller")).status).toBe(200);
  });

  it("is ignored from a client that did not register it", async () => {
    expect((await start({ ...valid, user_code: "000000" })).status).toBe(200);
  });
});

describe("C12 requested_expiry", () => {
  it("sets expires_in when it is a positive integer within the client's lifetime", async () => {
    const ok = await start({ ...valid, requested_expiry: "90" });
    expect(ok.status).toBe(200);
    expect(ok.body.expires_in).toBe(90);
  });

  it("refuses 0, negative, fractional, non-numeric and over-the-maximum values with invalid_request", async () => {
    for (const value of ["0", "-5", "1.5", "abc", "1e3", "301", "99999999999999999999"]) {
      const { status, body } = await start({ ...valid, requested_expiry: value });
      expect(status, value).toBe(400);
      expect(body.error).toBe("invalid_request");
    }
  });

  it("uses the client's own lifetime as default and maximum", async () => {
    const ok = await start({ ...valid, user_code: "471147" }, "teller");
    expect(ok.body.expires_in).toBe(120);
    expect(ok.body.interval).toBe(2);
    expect((await start({ ...valid, user_code: "471147", requested_expiry: "121" }, "teller")).status).toBe(400);
  });
});

describe("C13 parameters", () => {
  it("refuses a repeated parameter and ignores unknown ones", async () => {
    const repeated = await start("scope=openid&login_hint=alice&login_hint=bob");
    expect(repeated.body.error).toBe("invalid_request");
    expect((await start({ ...valid, something_new: "1" })).status).toBe(200);
  });
});

describe("C14 clients not allowed CIBA", () => {
  it("answers unauthorized_client", async () => {
    const { status, body } = await start(valid, "not-ciba");
    expect(status).toBe(400);
    expect(body.error).toBe("unauthorized_client");
  });
});

describe("C15 errors", () => {
  it("are JSON {error, error_description} with status 400", async () => {
    const { status, body, headers } = await start({ scope: "openid" });
    expect(status).toBe(400);
    expect(headers.get("content-type")).toContain("application/json");
    expect(Object.keys(body).sort()).toEqual(["error", "error_description"]);
  });
});

describe("C16 signed requests (the full rules: ciba-signed-requests.test.ts)", () => {
  it("refuses an unsigned (alg none) request object", async () => {
    const { status, body } = await start({ request: "eyJhbGciOiJub25lIn0.e30." });
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_request");
  });
});

describe("C17 success", () => {
  it("returns auth_req_id (256 bits, URL-safe), expires_in and interval, with no-store", async () => {
    const { status, body, headers } = await start(valid);
    expect(status).toBe(200);
    expect(body.auth_req_id).toMatch(/^[A-Za-z0-9._-]{43}$/);
    expect(body.expires_in).toBe(300);
    expect(body.interval).toBe(5);
    expect(headers.get("cache-control")).toBe("no-store");
  });

  it("never returns the same auth_req_id twice", async () => {
    const ids = await Promise.all(Array.from({ length: 10 }, async () => (await start(valid)).body.auth_req_id));
    expect(new Set(ids).size).toBe(10);
  });

  it("stores only the hash of auth_req_id, and an internal id unrelated to it", async () => {
    const { body } = await start(valid);
    const request = await requestFor(body.auth_req_id);
    expect(request.internalId).toMatch(/^[0-9a-f]{64}$/);
    expect(request.internalId).not.toContain(body.auth_req_id);
    const stored = await rawStorage(request.internalId);
    expect(stored).not.toContain(body.auth_req_id);
    // The object is named by the hash; nothing else of the auth_req_id is kept.
    const ns = env.BACKCHANNEL_REQUESTS;
    expect(ns.idFromName(await sha256Hex(body.auth_req_id)).toString()).toBe(request.internalId);
  });

  it("lists the new request for its user at once", async () => {
    const { body } = await start(valid);
    const { internalId } = await requestFor(body.auth_req_id);
    const pending = await store().getLoginsForUser(alice);
    expect(pending.map((r) => r.internalId)).toContain(internalId);
    expect((await store().getLoginsForUser(alice, "kiosk")).map((r) => r.internalId)).toContain(internalId);
    expect((await store().getLoginsForUser(alice, "teller")).map((r) => r.internalId)).not.toContain(internalId);
  });
});

describe("acr_values and resource", () => {
  it("splits tenant: and idp: out of acr_values, as the seed's model does", async () => {
    const { body } = await start({ ...valid, acr_values: "urn:acr:mfa tenant:acme idp:google" });
    const request = await requestFor(body.auth_req_id);
    expect(request.authenticationContextReferenceClasses).toEqual(["urn:acr:mfa"]);
    expect(request.tenant).toBe("acme");
    expect(request.idp).toBe("google");
  });

  it("keeps several RFC 8707 resource indicators and refuses a relative or fragment one", async () => {
    const { body } = await start(
      "scope=openid&login_hint=alice&resource=https%3A%2F%2Fapi.example%2F&resource=https%3A%2F%2Fpay.example%2F",
    );
    expect((await requestFor(body.auth_req_id)).requestedResourceIndicators).toEqual([
      "https://api.example/",
      "https://pay.example/",
    ]);
    for (const resource of ["/relative", "https://api.example/#frag"]) {
      const { status, body: error } = await start({ ...valid, resource });
      expect(status).toBe(400);
      expect(error.error).toBe("invalid_target");
    }
  });
});
