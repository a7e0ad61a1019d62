/**
 * Every JWT a client sends (client assertions, signed backchannel requests, request objects
 * pushed to /par), checked the same way: a jti is remembered for as long as the JWT can be
 * accepted, including the clock tolerance after exp; iat and nbf up to 10 s ahead are accepted
 * and more than 60 s ahead refused (FAPI 2.0 §5.3.2.1); a request object lives at most 60
 * minutes however its times are written; and a request object may not carry request_uri
 * (RFC 9126 §2.1) or request (RFC 9101 §4).
 */
import { env } from "cloudflare:workers";
import { importJWK, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { JWT_BEARER_ASSERTION } from "../src/clients/authenticate";
import { ConfigurationError, loadSettings } from "../src/config";
import type { Bindings } from "../src/env";
import { CIBA_GRANT } from "./helpers/ciba";
import { clientKeyPair, registerClient, registerUser } from "./helpers/fixtures";
import { call, ISSUER, jsonOf, type OAuthErrorBody, postForm, type Vars } from "./helpers/http";

const keys = await clientKeyPair("ES256");
const CALLBACK = "https://app.example/cb";

beforeAll(async () => {
  await registerUser({ username: "jwt-user", password: "jwt-user-password", email: "jwt-user@example.com" });
  const withKeys = {
    client_secret: undefined,
    token_endpoint_auth_method: "private_key_jwt" as const,
    jwks: { keys: [keys.publicJwk as { kty: string }] },
  };
  await registerClient({ ...withKeys, client_id: "jwt-service" });
  await registerClient({
    ...withKeys,
    client_id: "jwt-kiosk",
    grant_types: [CIBA_GRANT],
    backchannel_token_delivery_mode: "poll",
  });
  await registerClient({
    ...withKeys,
    client_id: "jwt-web",
    grant_types: ["authorization_code"],
    redirect_uris: [CALLBACK],
    request_object_signing_alg: "ES256",
  });
  // Not registered for signed requests (no request_object_signing_alg), so FAPI 2.0 Message
  // Signing's nbf rule does not cover it: RFC 9101's rules only (test/fapi2-message-signing.test.ts).
  await registerClient({
    ...withKeys,
    client_id: "jwt-web-jar",
    grant_types: ["authorization_code"],
    redirect_uris: [CALLBACK],
  });
});

const now = () => Math.floor(Date.now() / 1000);

/** Signs `claims` with the clients' key; a claim set to undefined is left out. */
function sign(claims: Record<string, unknown>): Promise<string> {
  const payload = Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== undefined));
  return new SignJWT(payload).setProtectedHeader({ alg: "ES256" }).sign(keys.privateKey);
}

/** A client assertion (RFC 7523) for `clientId`, valid by default; `claims` override. */
function assertion(clientId: string, claims: Record<string, unknown> = {}): Promise<string> {
  const t = now();
  return sign({ iss: clientId, sub: clientId, aud: ISSUER, jti: crypto.randomUUID(), iat: t, exp: t + 60, ...claims });
}

async function tokenRequest(clientAssertion: string, vars: Vars = {}) {
  const body = new URLSearchParams({
    grant_type: "client_credentials",
    client_assertion_type: JWT_BEARER_ASSERTION,
    client_assertion: clientAssertion,
  });
  const init = { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body };
  return jsonOf<OAuthErrorBody>(await call("/token", init, vars));
}

/** A signed backchannel authentication request (CIBA §7.1.1) from jwt-kiosk, valid by default. */
function backchannelRequest(claims: Record<string, unknown> = {}): Promise<string> {
  const t = now();
  return sign({
    iss: "jwt-kiosk",
    aud: ISSUER,
    iat: t,
    nbf: t,
    exp: t + 300,
    jti: crypto.randomUUID(),
    scope: "openid",
    login_hint: "jwt-user",
    ...claims,
  });
}

async function sendBackchannel(request: string) {
  return jsonOf<OAuthErrorBody>(
    await postForm("/bc-authorize", {
      client_assertion_type: JWT_BEARER_ASSERTION,
      client_assertion: await assertion("jwt-kiosk"),
      request,
    }),
  );
}

/** A request object (RFC 9101) from jwt-web (or `clientId`), valid by default. */
function requestObject(claims: Record<string, unknown> = {}, clientId = "jwt-web"): Promise<string> {
  const t = now();
  return sign({
    iss: clientId,
    aud: ISSUER,
    client_id: clientId,
    response_type: "code",
    redirect_uri: CALLBACK,
    scope: "openid",
    code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
    code_challenge_method: "S256",
    iat: t,
    nbf: t,
    exp: t + 300,
    ...claims,
  });
}

async function push(request: string, clientId = "jwt-web") {
  return jsonOf<OAuthErrorBody & { request_uri?: string }>(
    await postForm("/par", {
      client_assertion_type: JWT_BEARER_ASSERTION,
      client_assertion: await assertion(clientId),
      request,
    }),
  );
}

describe("a jti is remembered for as long as its JWT can be accepted (exp + clock tolerance)", () => {
  it("client assertion (RFC 7523 §3): one that expired a second ago is accepted once, then refused as a replay", async () => {
    const jwt = await assertion("jwt-service", { iat: now() - 30, exp: now() - 1 });
    const first = await tokenRequest(jwt);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    for (let i = 0; i < 3; i++) {
      const replay = await tokenRequest(jwt);
      expect(replay.status).toBe(401);
      expect(replay.body.error_description).toMatch(/jti was already used/);
    }
  });

  it("signed backchannel request (CIBA §7.1.1): one that expired a second ago is accepted once, then refused", async () => {
    const request = await backchannelRequest({ iat: now() - 100, nbf: now() - 100, exp: now() - 1 });
    const first = await sendBackchannel(request);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    for (let i = 0; i < 3; i++) {
      const replay = await sendBackchannel(request);
      expect(replay.status).toBe(400);
      expect(replay.body.error_description).toMatch(/jti was already used/);
    }
  });

  it("request object at /par: one that expired a second ago is accepted once, then refused", async () => {
    const request = await requestObject({
      jti: crypto.randomUUID(),
      iat: now() - 100,
      nbf: now() - 100,
      exp: now() - 1,
    });
    const first = await push(request);
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    const replay = await push(request);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe("invalid_request_object");
    expect(replay.body.error_description).toMatch(/already used/);
  });
});

describe("request objects pushed to /par are replay-checked", () => {
  it("refuses a request object pushed a second time", async () => {
    const request = await requestObject({ jti: crypto.randomUUID() });
    expect((await push(request)).status).toBe(201);
    const replay = await push(request);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe("invalid_request_object");
  });

  it("refuses another request object with a jti already used", async () => {
    const jti = crypto.randomUUID();
    expect((await push(await requestObject({ jti, state: "one" }))).status).toBe(201);
    const second = await push(await requestObject({ jti, state: "two" }));
    expect(second.status).toBe(400);
    expect(second.body.error).toBe("invalid_request_object");
    expect(second.body.error_description).toMatch(/jti was already used/);
  });

  it("refuses the very same request object a second time even without a jti", async () => {
    const request = await requestObject({ state: crypto.randomUUID() });
    expect((await push(request)).status).toBe(201);
    const replay = await push(request);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe("invalid_request_object");
  });
});

describe("RFC 9126 §2.1 / RFC 9101 §4: no request_uri or request inside a request object pushed to /par", () => {
  it("refuses request_uri inside the request object, as it refuses it in the form", async () => {
    const inside = await push(await requestObject({ request_uri: "urn:ietf:params:oauth:request_uri:abc" }));
    expect(inside.status).toBe(400);
    expect(inside.body.error).toBe("invalid_request");
    expect(inside.body.error_description).toMatch(/request_uri/);
  });

  it("refuses a request object nested inside the request object", async () => {
    const nested = await push(await requestObject({ request: await requestObject() }));
    expect(nested.status).toBe(400);
    expect(nested.body.error).toBe("invalid_request");
  });
});

describe("a request object lives at most 60 minutes, however its times are written", () => {
  const jar = "jwt-web-jar";

  it("refuses exp a year ahead when there is no nbf (PAR)", async () => {
    const noNbf = await push(await requestObject({ nbf: undefined, exp: now() + 365 * 86_400 }, jar), jar);
    expect(noNbf.status).toBe(400);
    expect(noNbf.body.error).toBe("invalid_request_object");
    const noTimes = await push(
      await requestObject({ nbf: undefined, iat: undefined, exp: now() + 365 * 86_400 }, jar),
      jar,
    );
    expect(noTimes.status).toBe(400);
    expect(noTimes.body.error).toBe("invalid_request_object");
  });

  it("refuses exp more than 60 minutes after iat when there is no nbf (PAR)", async () => {
    const t = now();
    const response = await push(await requestObject({ nbf: undefined, iat: t - 100, exp: t + 3550 }, jar), jar);
    expect(response.status).toBe(400);
    expect(response.body.error_description).toMatch(/60 minutes/);
  });

  it("accepts a request object without nbf that lives less than 60 minutes (PAR)", async () => {
    const response = await push(await requestObject({ nbf: undefined, exp: now() + 3000 }, jar), jar);
    expect(response.status, JSON.stringify(response.body)).toBe(201);
  });
});

describe("FAPI 2.0 §5.3.2.1: iat and nbf up to 10 s in the future are accepted, more than 60 s refused", () => {
  it("client assertion: accepts iat and nbf 8 s ahead", async () => {
    const t = now();
    const response = await tokenRequest(await assertion("jwt-service", { iat: t + 8, nbf: t + 8, exp: t + 68 }));
    expect(response.status, JSON.stringify(response.body)).toBe(200);
  });

  it("client assertion: refuses nbf or iat more than 60 s ahead, and by default more than 10 s", async () => {
    const t = now();
    for (const times of [{ nbf: t + 61 }, { iat: t + 61 }, { nbf: t + 25 }, { iat: t + 25 }]) {
      const response = await tokenRequest(await assertion("jwt-service", { ...times, exp: t + 120 }));
      expect(response.status, JSON.stringify(times)).toBe(401);
      expect(response.body.error).toBe("invalid_client");
    }
  });

  it("signed backchannel request: accepts iat and nbf 8 s ahead, refuses them more than 60 s ahead", async () => {
    const t = now();
    expect((await sendBackchannel(await backchannelRequest({ iat: t + 8, nbf: t + 8 }))).status).toBe(200);
    for (const times of [{ nbf: t + 61 }, { iat: t + 61 }]) {
      const response = await sendBackchannel(await backchannelRequest(times));
      expect(response.status, JSON.stringify(times)).toBe(400);
    }
  });

  it("request object at /par: accepts iat and nbf 8 s ahead, refuses them more than 60 s ahead", async () => {
    const t = now();
    const ahead = await push(await requestObject({ iat: t + 8, nbf: t + 8 }));
    expect(ahead.status, JSON.stringify(ahead.body)).toBe(201);
    for (const times of [{ nbf: t + 61 }, { iat: t + 61 }]) {
      const response = await push(await requestObject(times));
      expect(response.status, JSON.stringify(times)).toBe(400);
    }
  });

  it("login_hint_token: accepts nbf and iat 8 s ahead, refuses them more than 60 s ahead", async () => {
    const key = await importJWK(JSON.parse(env.TEST_HINT_ISSUER_PRIVATE_JWK), "ES256");
    const hint = (times: { iat?: number; nbf?: number }) =>
      new SignJWT({ sub_id: { format: "email", email: "jwt-user@example.com" }, exp: now() + 120, ...times })
        .setProtectedHeader({ alg: "ES256", kid: "hint-1" })
        .setIssuer("https://hints.example")
        .sign(key);
    const send = async (token: string) =>
      jsonOf<OAuthErrorBody>(
        await postForm("/bc-authorize", {
          client_assertion_type: JWT_BEARER_ASSERTION,
          client_assertion: await assertion("jwt-kiosk"),
          request: await backchannelRequest({ login_hint: undefined, login_hint_token: token }),
        }),
      );
    const t = now();
    const ahead = await send(await hint({ iat: t + 8, nbf: t + 8 }));
    expect(ahead.status, JSON.stringify(ahead.body)).toBe(200);
    for (const times of [{ nbf: t + 61 }, { iat: t + 61 }]) {
      const response = await send(await hint(times));
      expect(response.status, JSON.stringify(times)).toBe(400);
      expect(response.body.error).toBe("invalid_request");
    }
  });

  it("the tolerance is one setting: JWT_CLOCK_TOLERANCE=60 accepts nbf 45 s ahead, 60 s past exp still refuses", async () => {
    const t = now();
    const vars = { JWT_CLOCK_TOLERANCE: "60" };
    const ahead = await tokenRequest(await assertion("jwt-service", { iat: t + 45, nbf: t + 45, exp: t + 100 }), vars);
    expect(ahead.status, JSON.stringify(ahead.body)).toBe(200);
    const tooFar = await tokenRequest(await assertion("jwt-service", { nbf: t + 90, exp: t + 150 }), vars);
    expect(tooFar.status).toBe(401);
  });

  it("JWT_CLOCK_TOLERANCE outside 10–60 is a configuration error", () => {
    for (const value of ["5", "61"]) {
      const bindings = { ...env, JWT_CLOCK_TOLERANCE: value } as Bindings;
      expect(() => loadSettings(bindings), value).toThrow(ConfigurationError);
    }
    expect(loadSettings({ ...env, JWT_CLOCK_TOLERANCE: "30" } as Bindings).jwtClockTolerance).toBe(30);
  });
});
