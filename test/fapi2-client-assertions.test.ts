/**
 * FAPI 2.0 Security Profile (final) §5.3.2.1 (8): the authorization server "shall only accept
 * its issuer identifier value (as defined in RFC 8414) as a string in the aud claim received in
 * client authentication assertions" (§5.3.3.1 (5): the client sends it as a string, not as an
 * item of an array). For a fapi2 client the token endpoint URL, the PAR endpoint URL or an array
 * are refused with invalid_client; other clients keep the audiences RFC 7523 §3 and RFC 9126 §2
 * allow (the issuer, the token endpoint, the endpoint called, alone or in an array).
 */
import { SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { JWT_BEARER_ASSERTION } from "../src/clients/authenticate";
import { endpointUrls } from "../src/routes";
import { pkce } from "./helpers/authorize";
import { clientKeyPair, registerClient } from "./helpers/fixtures";
import { ISSUER, jsonOf, type OAuthErrorBody, postForm } from "./helpers/http";

const keys = await clientKeyPair("ES256");
const CALLBACK = "https://bank-app.example/cb";
const urls = endpointUrls(ISSUER);

const codeClient = {
  client_secret: undefined,
  token_endpoint_auth_method: "private_key_jwt" as const,
  token_endpoint_auth_signing_alg: "ES256",
  jwks: { keys: [keys.publicJwk as { kty: string }] },
  grant_types: ["authorization_code"],
  redirect_uris: [CALLBACK],
  scope: "openid",
};

beforeAll(async () => {
  await registerClient({ ...codeClient, client_id: "fapi2-aud", profile: "fapi2" });
  await registerClient({ ...codeClient, client_id: "plain-aud" });
});

/** A private_key_jwt assertion (RFC 7523 §3) of `clientId` naming `aud`. */
function assertion(clientId: string, aud: string | string[]): Promise<string> {
  const t = Math.floor(Date.now() / 1000);
  return new SignJWT({ iss: clientId, sub: clientId, aud, jti: crypto.randomUUID(), iat: t, exp: t + 60 })
    .setProtectedHeader({ alg: "ES256" })
    .sign(keys.privateKey);
}

/** A pushed authorization request (RFC 9126 §2.1) authenticated by an assertion naming `aud`. */
async function push(clientId: string, aud: string | string[]) {
  const { challenge } = await pkce();
  const response = await postForm("/par", {
    client_assertion_type: JWT_BEARER_ASSERTION,
    client_assertion: await assertion(clientId, aud),
    response_type: "code",
    client_id: clientId,
    redirect_uri: CALLBACK,
    scope: "openid",
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  return jsonOf<OAuthErrorBody & { request_uri?: string }>(response);
}

describe("FAPI 2.0 §5.3.2.1 (8): a fapi2 client's assertion names only the issuer, as a string, in aud", () => {
  it("§5.3.2.1 (8): the issuer identifier as a string is accepted", async () => {
    const pushed = await push("fapi2-aud", ISSUER);
    expect(pushed.status, JSON.stringify(pushed.body)).toBe(201);
  });

  it("§5.3.2.1 (8): the PAR endpoint URL as aud is refused with invalid_client", async () => {
    const pushed = await push("fapi2-aud", urls.pushedAuthorizationRequest);
    expect(pushed.status).toBe(401);
    expect(pushed.body.error).toBe("invalid_client");
  });

  it("§5.3.2.1 (8): the token endpoint URL as aud is refused with invalid_client", async () => {
    const pushed = await push("fapi2-aud", urls.token);
    expect(pushed.status).toBe(401);
    expect(pushed.body.error).toBe("invalid_client");
    const token = await jsonOf<OAuthErrorBody>(
      await postForm("/token", {
        grant_type: "authorization_code",
        code: "unused",
        redirect_uri: CALLBACK,
        code_verifier: "v".repeat(43),
        client_assertion_type: JWT_BEARER_ASSERTION,
        client_assertion: await assertion("fapi2-aud", urls.token),
      }),
    );
    expect(token.status).toBe(401);
    expect(token.body.error).toBe("invalid_client");
  });

  it("§5.3.3.1 (5): the issuer as an item of an array is refused, alone or beside another audience", async () => {
    for (const aud of [[ISSUER], [ISSUER, urls.token]]) {
      const pushed = await push("fapi2-aud", aud);
      expect(pushed.status, JSON.stringify(aud)).toBe(401);
      expect(pushed.body.error).toBe("invalid_client");
      expect(pushed.body.error_description).toMatch(/§5\.3\.2\.1/);
    }
  });

  it("RFC 7523 §3, RFC 9126 §2: other clients keep today's audiences (token URL, PAR URL, an array)", async () => {
    for (const aud of [ISSUER, urls.token, urls.pushedAuthorizationRequest, [ISSUER, urls.token]]) {
      const pushed = await push("plain-aud", aud);
      expect(pushed.status, `${JSON.stringify(aud)}: ${JSON.stringify(pushed.body)}`).toBe(201);
    }
  });
});
