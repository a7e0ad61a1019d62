/**
 * FAPI 2.0 Message Signing (final) §5.3.2, signed authorization requests, for the clients that
 * register for it: a client registered with `request_object_signing_alg` must push its whole
 * request as a request object (RFC 9101) to /par, and that object must be signed (never `none`),
 * carry `nbf` and `exp` with `exp - nbf` at most 60 minutes and `nbf` at most 60 minutes old, and
 * name the issuer as (or among) its `aud`. A fapi2 client's request objects are held to the same
 * rules. Every refusal of the object is `invalid_request_object` (RFC 9101 §6.2). Clients that did
 * not register for it may still push request objects under RFC 9101's rules (no `nbf` needed).
 */
import { SignJWT, UnsecuredJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { JWT_BEARER_ASSERTION } from "../src/clients/authenticate";
import { endpointUrls } from "../src/routes";
import { clientKeyPair, registerClient } from "./helpers/fixtures";
import { call, ISSUER, jsonOf, type OAuthErrorBody, postForm } from "./helpers/http";

const keys = await clientKeyPair("ES256");
const CALLBACK = "https://bank-app.example/cb";

const withKeys = {
  client_secret: undefined,
  token_endpoint_auth_method: "private_key_jwt" as const,
  token_endpoint_auth_signing_alg: "ES256",
  jwks: { keys: [keys.publicJwk as { kty: string }] },
  grant_types: ["authorization_code"],
  redirect_uris: [CALLBACK],
  scope: "openid",
};

beforeAll(async () => {
  await registerClient({ ...withKeys, client_id: "ms-signed", request_object_signing_alg: "ES256" });
  await registerClient({ ...withKeys, client_id: "ms-fapi2", profile: "fapi2" });
  await registerClient({ ...withKeys, client_id: "ms-plain" });
});

const now = () => Math.floor(Date.now() / 1000);

/** A request object of `clientId`, valid by default; a claim set to undefined is left out. */
function requestObject(clientId: string, claims: Record<string, unknown> = {}): Promise<string> {
  const t = now();
  const payload = Object.fromEntries(
    Object.entries({
      iss: clientId,
      aud: ISSUER,
      client_id: clientId,
      response_type: "code",
      redirect_uri: CALLBACK,
      scope: "openid",
      code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
      code_challenge_method: "S256",
      jti: crypto.randomUUID(),
      nbf: t,
      exp: t + 300,
      ...claims,
    }).filter(([, value]) => value !== undefined),
  );
  return new SignJWT(payload).setProtectedHeader({ alg: "ES256" }).sign(keys.privateKey);
}

async function push(clientId: string, body: Record<string, string>) {
  const t = now();
  const assertion = await new SignJWT({ iss: clientId, sub: clientId, aud: ISSUER, jti: crypto.randomUUID() })
    .setIssuedAt(t)
    .setExpirationTime(t + 60)
    .setProtectedHeader({ alg: "ES256" })
    .sign(keys.privateKey);
  const response = await postForm("/par", {
    client_assertion_type: JWT_BEARER_ASSERTION,
    client_assertion: assertion,
    ...body,
  });
  return jsonOf<OAuthErrorBody & { request_uri?: string }>(response);
}

function expectRefusedObject(result: { status: number; body: OAuthErrorBody }, description: RegExp): void {
  expect(result.status, JSON.stringify(result.body)).toBe(400);
  expect(result.body.error).toBe("invalid_request_object");
  expect(result.body.error_description).toMatch(description);
}

describe("FAPI 2.0 Message Signing §5.3.2: signed request objects at /par", () => {
  it("§5.3.2: a signed request object with nbf, exp 60 minutes after it and aud = issuer is accepted", async () => {
    for (const clientId of ["ms-signed", "ms-fapi2"]) {
      const t = now();
      const pushed = await push(clientId, { request: await requestObject(clientId, { nbf: t, exp: t + 3600 }) });
      expect(pushed.status, `${clientId}: ${JSON.stringify(pushed.body)}`).toBe(201);
    }
  });

  it("§5.3.2: a client registered for signed requests cannot push plain parameters", async () => {
    const pushed = await push("ms-signed", {
      response_type: "code",
      client_id: "ms-signed",
      redirect_uri: CALLBACK,
      scope: "openid",
      code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
      code_challenge_method: "S256",
    });
    expect(pushed.status).toBe(400);
    expect(pushed.body.error_description).toMatch(/signed request object/);
  });

  it("§5.3.2: a client registered for signed requests cannot bypass them with a plain request at /authorize", async () => {
    const query = new URLSearchParams({
      response_type: "code",
      client_id: "ms-signed",
      redirect_uri: CALLBACK,
      scope: "openid",
      code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
      code_challenge_method: "S256",
    });
    const response = await call(`/authorize?${query}`, { redirect: "manual" });
    expect(response.status, await response.clone().text()).toBe(303);
    const location = new URL(response.headers.get("location") ?? "", ISSUER);
    expect(`${location.origin}${location.pathname}`).toBe(CALLBACK);
    expect(location.searchParams.get("error")).toBe("invalid_request");
    expect(location.searchParams.get("error_description")).toMatch(/pushed authorization requests/);
  });

  it("§5.3.2: an unsigned request object (alg none) is refused", async () => {
    const t = now();
    const unsigned = new UnsecuredJWT({
      iss: "ms-signed",
      aud: ISSUER,
      client_id: "ms-signed",
      response_type: "code",
      redirect_uri: CALLBACK,
      scope: "openid",
      nbf: t,
      exp: t + 300,
    }).encode();
    expectRefusedObject(await push("ms-signed", { request: unsigned }), /request object rejected/);
  });

  it("§5.3.2: a request object without nbf is refused", async () => {
    for (const clientId of ["ms-signed", "ms-fapi2"]) {
      const request = await requestObject(clientId, { nbf: undefined, iat: now() });
      expectRefusedObject(await push(clientId, { request }), /nbf/);
    }
  });

  it("§5.3.2: a request object without exp is refused", async () => {
    const request = await requestObject("ms-signed", { exp: undefined });
    expectRefusedObject(await push("ms-signed", { request }), /exp/);
  });

  it("§5.3.2: exp more than 60 minutes after nbf is refused", async () => {
    const t = now();
    const request = await requestObject("ms-signed", { nbf: t, exp: t + 3601 });
    expectRefusedObject(await push("ms-signed", { request }), /60 minutes/);
  });

  it("§5.3.2: nbf more than 60 minutes in the past is refused (exp is then passed, or over 60 minutes after it)", async () => {
    const t = now();
    const stillValid = await requestObject("ms-signed", { nbf: t - 3700, exp: t + 60 });
    expectRefusedObject(await push("ms-signed", { request: stillValid }), /at most 3600 seconds after nbf/);
    const expired = await requestObject("ms-signed", { nbf: t - 3700, exp: t - 200 });
    expectRefusedObject(await push("ms-signed", { request: expired }), /exp/);
  });

  it("§5.3.2: aud must be, or be an array containing, the issuer", async () => {
    const par = endpointUrls(ISSUER).pushedAuthorizationRequest;
    expectRefusedObject(await push("ms-signed", { request: await requestObject("ms-signed", { aud: par }) }), /aud/);
    const inArray = await push("ms-signed", { request: await requestObject("ms-signed", { aud: [ISSUER, par] }) });
    expect(inArray.status, JSON.stringify(inArray.body)).toBe(201);
  });

  it("RFC 9101: a client not registered for signed requests may push a request object without nbf", async () => {
    const request = await requestObject("ms-plain", { nbf: undefined, iat: now() });
    const pushed = await push("ms-plain", { request });
    expect(pushed.status, JSON.stringify(pushed.body)).toBe(201);
  });
});
