/**
 * Signed authentication requests at the backchannel endpoint (CIBA §7.1.1, checklist C1, C11,
 * C16), sent by private_key_jwt clients exactly as a client library would: a client assertion
 * for authentication, and the request's parameters only inside the `request` JWT.
 */
import { SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { JWT_BEARER_ASSERTION } from "../src/clients/authenticate";
import { backchannel, CIBA_GRANT, requestFor } from "./helpers/ciba";
import { clientKeyPair, registerClient, registerUser } from "./helpers/fixtures";
import { call, ISSUER, jsonOf, type OAuthErrorBody, postForm } from "./helpers/http";

const es256 = await clientKeyPair("ES256");
const ps256 = await clientKeyPair("PS256");
const stranger = await clientKeyPair("ES256");

beforeAll(async () => {
  await registerUser({ username: "frank", password: "frank-password", user_code: "246813" });
  const ciba = {
    grant_types: [CIBA_GRANT],
    backchannel_token_delivery_mode: "poll" as const,
    client_secret: undefined,
  };
  await registerClient({
    ...ciba,
    client_id: "signer",
    token_endpoint_auth_method: "private_key_jwt",
    jwks: { keys: [es256.publicJwk as { kty: string }] },
    scope: "openid profile email",
  });
  await registerClient({
    ...ciba,
    client_id: "ps-signer",
    token_endpoint_auth_method: "private_key_jwt",
    jwks: { keys: [ps256.publicJwk as { kty: string }, es256.publicJwk as { kty: string }] },
    backchannel_authentication_request_signing_alg: "PS256",
  });
  await registerClient({
    ...ciba,
    client_id: "code-signer",
    token_endpoint_auth_method: "private_key_jwt",
    jwks: { keys: [es256.publicJwk as { kty: string }] },
    backchannel_user_code_parameter: true,
  });
  await registerClient({
    client_id: "secret-kiosk",
    client_secret: "secret-kiosk-secret-0123456789",
    grant_types: [CIBA_GRANT],
    backchannel_token_delivery_mode: "poll",
  });
});

const now = () => Math.floor(Date.now() / 1000);

/** A client assertion for private_key_jwt (RFC 7523), with a fresh jti. */
async function assertion(clientId: string, key: CryptoKey, alg: string, jti = crypto.randomUUID()): Promise<string> {
  return new SignJWT({ jti })
    .setProtectedHeader({ alg })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(ISSUER)
    .setIssuedAt()
    .setExpirationTime("1m")
    .sign(key);
}

/**
 * A signed authentication request. Defaults make a valid one; `claims` overrides them, and a
 * claim set to undefined is left out.
 */
async function signedRequest(
  clientId: string,
  key: CryptoKey | Uint8Array,
  alg: string,
  claims: Record<string, unknown> = {},
): Promise<string> {
  const t = now();
  const payload: Record<string, unknown> = {
    iss: clientId,
    aud: ISSUER,
    iat: t,
    nbf: t,
    exp: t + 300,
    jti: crypto.randomUUID(),
    scope: "openid profile",
    login_hint: "frank",
    ...claims,
  };
  for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
  return new SignJWT(payload).setProtectedHeader({ alg }).sign(key);
}

async function send(
  clientId: string,
  request: string,
  form: Record<string, string> = {},
  auth: { key: CryptoKey; alg: string } = { key: es256.privateKey, alg: "ES256" },
) {
  const response = await postForm("/bc-authorize", {
    client_assertion_type: JWT_BEARER_ASSERTION,
    client_assertion: await assertion(clientId, auth.key, auth.alg),
    request,
    ...form,
  });
  return jsonOf<OAuthErrorBody & { auth_req_id: string; expires_in: number }>(response);
}

/** Sends `claims` as signer's request and expects invalid_request naming `reason`. */
async function expectRejected(claims: Record<string, unknown>, reason: RegExp) {
  const { status, body } = await send("signer", await signedRequest("signer", es256.privateKey, "ES256", claims));
  expect(status, JSON.stringify(claims)).toBe(400);
  expect(body.error).toBe("invalid_request");
  expect(body.error_description).toMatch(reason);
}

describe("C1 discovery", () => {
  it("lists the asymmetric algorithms accepted for signed requests, and no HMAC or none", async () => {
    const { body } = await jsonOf(await call("/.well-known/openid-configuration"));
    expect(body.backchannel_authentication_request_signing_alg_values_supported).toEqual([
      "ES256",
      "PS256",
      "EdDSA",
      "RS256",
    ]);
  });
});

describe("C16 a valid signed request", () => {
  it("is accepted, and its parameters are taken from the JWT", async () => {
    const request = await signedRequest("signer", es256.privateKey, "ES256", {
      scope: "openid email",
      binding_message: "Signed 42",
      requested_expiry: 120,
      acr_values: "urn:acr:mfa",
      resource: ["https://api.example/", "https://pay.example/"],
    });
    const { status, body } = await send("signer", request);
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.expires_in).toBe(120);
    const stored = await requestFor(body.auth_req_id);
    expect(stored).toMatchObject({
      requestedScopes: ["openid", "email"],
      bindingMessage: "Signed 42",
      authenticationContextReferenceClasses: ["urn:acr:mfa"],
      requestedResourceIndicators: ["https://api.example/", "https://pay.example/"],
    });
  });

  it("takes requested_expiry as a number or a string, and refuses anything but a positive integer", async () => {
    const asString = await send(
      "signer",
      await signedRequest("signer", es256.privateKey, "ES256", { requested_expiry: "90" }),
    );
    expect(asString.body.expires_in).toBe(90);
    for (const value of [0, -5, 1.5, 1e21, "abc", "1.5", true, 301]) {
      const { status, body } = await send(
        "signer",
        await signedRequest("signer", es256.privateKey, "ES256", { requested_expiry: value }),
      );
      expect(status, String(value)).toBe(400);
      expect(body.error).toBe("invalid_request");
    }
  });

  it("accepts nbf a few seconds ahead (clock skew)", async () => {
    const { status } = await send(
      "signer",
      await signedRequest("signer", es256.privateKey, "ES256", { nbf: now() + 5 }),
    );
    expect(status).toBe(200);
  });
});

describe("C16 parameters beside the JWT", () => {
  it("refuses any authentication parameter also sent in the form, even with the same value", async () => {
    const beside: Record<string, string> = {
      scope: "openid profile",
      login_hint: "frank",
      binding_message: "Signed 42",
      requested_expiry: "120",
      user_code: "246813",
      client_notification_token: "abc",
      acr_values: "urn:acr:mfa",
      resource: "https://api.example/",
      id_token_hint: "x.y.z",
      login_hint_token: "x.y.z",
    };
    for (const [name, value] of Object.entries(beside)) {
      const request = await signedRequest("signer", es256.privateKey, "ES256");
      const { status, body } = await send("signer", request, { [name]: value });
      expect(status, name).toBe(400);
      expect(body.error).toBe("invalid_request");
      expect(body.error_description).toContain(name);
    }
  });
});

describe("C16 signature and algorithm", () => {
  it("refuses an unsigned (alg none) request", async () => {
    const t = now();
    const header = btoa(JSON.stringify({ alg: "none" })).replace(/=+$/, "");
    const claims = {
      iss: "signer",
      aud: ISSUER,
      iat: t,
      nbf: t,
      exp: t + 60,
      jti: "n1",
      scope: "openid",
      login_hint: "frank",
    };
    const payload = btoa(JSON.stringify(claims)).replace(/=+$/, "");
    const { status, body } = await send("signer", `${header}.${payload}.`);
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_request");
  });

  it("refuses an HMAC-signed request", async () => {
    const key = new TextEncoder().encode("a-shared-secret-of-32-bytes-long!");
    const { status, body } = await send("signer", await signedRequest("signer", key, "HS256"));
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_request");
    expect(body.error_description).toMatch(/alg must be one of ES256, PS256, EdDSA, RS256/);
  });

  it("refuses a request signed with another key than the client's", async () => {
    const { status, body } = await send("signer", await signedRequest("signer", stranger.privateKey, "ES256"));
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_request");
  });

  it("refuses any algorithm but the client's registered backchannel_authentication_request_signing_alg", async () => {
    const psAuth = { key: ps256.privateKey, alg: "PS256" };
    const ok = await send("ps-signer", await signedRequest("ps-signer", ps256.privateKey, "PS256"), {}, psAuth);
    expect(ok.status).toBe(200);
    // ES256 with one of the client's own keys: a good signature, but not the registered alg.
    const es = await send("ps-signer", await signedRequest("ps-signer", es256.privateKey, "ES256"), {}, psAuth);
    expect(es.status).toBe(400);
    expect(es.body.error).toBe("invalid_request");
    expect(es.body.error_description).toMatch(/alg must be one of PS256/);
  });

  it("requires a signed request from a client that registered backchannel_authentication_request_signing_alg", async () => {
    const response = await postForm("/bc-authorize", {
      client_assertion_type: JWT_BEARER_ASSERTION,
      client_assertion: await assertion("ps-signer", ps256.privateKey, "PS256"),
      scope: "openid",
      login_hint: "frank",
    });
    const { status, body } = await jsonOf<OAuthErrorBody>(response);
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_request");
    expect(body.error_description).toMatch(/signed request/);
  });

  it("refuses a signed request from a client with no registered keys", async () => {
    const { status, body } = await backchannel("secret-kiosk", "secret-kiosk-secret-0123456789", {
      request: await signedRequest("secret-kiosk", es256.privateKey, "ES256"),
    });
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_request");
  });

  it("refuses a request that is not a JWT with a 400, not a 5xx", async () => {
    for (const junk of ["not-a-jwt", "a.b.c", "eyJhbGciOiJFUzI1NiJ9..", "x".repeat(3000)]) {
      const { status, body } = await send("signer", junk);
      expect(status, junk.slice(0, 20)).toBe(400);
      expect(body.error).toBe("invalid_request");
    }
  });
});

describe("C16 claims", () => {
  it("requires iss = client_id and aud = the issuer", async () => {
    await expectRejected({ iss: "someone-else" }, /iss/);
    await expectRejected({ aud: `${ISSUER}/bc-authorize` }, /aud/);
    await expectRejected({ aud: "https://other.example" }, /aud/);
  });

  it("requires aud, iss, exp, iat, nbf and jti", async () => {
    for (const claim of ["aud", "iss", "exp", "iat", "nbf", "jti"]) {
      await expectRejected({ [claim]: undefined }, new RegExp(claim));
    }
  });

  it("refuses an expired exp, a future nbf, and a future iat", async () => {
    await expectRejected({ iat: now() - 120, nbf: now() - 120, exp: now() - 60 }, /exp/);
    await expectRejected({ nbf: now() + 60, exp: now() + 300 }, /nbf/);
    await expectRejected({ iat: now() + 60 }, /iat/);
  });

  it("refuses exp more than 60 minutes after nbf, and nbf older than 60 minutes", async () => {
    await expectRejected({ nbf: now(), exp: now() + 3601 }, /exp may be at most 3600 seconds after nbf/);
    // Only reachable within the clock skew: exp (= nbf + 60 min) is 5 s past, nbf 60 min 5 s.
    const old = now() - 3605;
    await expectRejected({ iat: old, nbf: old, exp: old + 3600 }, /nbf is more than 3600 seconds/);
    const t = now();
    expect(
      (await send("signer", await signedRequest("signer", es256.privateKey, "ES256", { nbf: t, exp: t + 3600 })))
        .status,
    ).toBe(200);
  });

  it("refuses a replayed jti, kept apart from client assertion jtis", async () => {
    const jti = crypto.randomUUID();
    const request = await signedRequest("signer", es256.privateKey, "ES256", { jti });
    const first = await postForm("/bc-authorize", {
      client_assertion_type: JWT_BEARER_ASSERTION,
      // The same jti in the client assertion: a different kind of JWT, not a replay.
      client_assertion: await assertion("signer", es256.privateKey, "ES256", jti),
      request,
    });
    expect(first.status).toBe(200);
    const replay = await send("signer", request);
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe("invalid_request");
    expect(replay.body.error_description).toMatch(/jti was already used/);
  });

  it("refuses an authentication parameter of the wrong type", async () => {
    await expectRejected({ login_hint: 42 }, /login_hint/);
    await expectRejected({ scope: ["openid"] }, /scope/);
  });
});

describe("C11 user_code inside a signed request", () => {
  it("answers missing_user_code when it is missing, invalid_user_code when wrong, and accepts the right one", async () => {
    const sign = (claims: Record<string, unknown>) => signedRequest("code-signer", es256.privateKey, "ES256", claims);
    const missing = await send("code-signer", await sign({}));
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe("missing_user_code");
    const wrong = await send("code-signer", await sign({ user_code: "000000" }));
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toBe("invalid_user_code");
    expect((await send("code-signer", await sign({ user_code: "246813" }))).status).toBe(200);
  });
});
