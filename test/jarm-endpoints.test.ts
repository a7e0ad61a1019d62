/**
 * JARM (JWT Secured Authorization Response Mode) at /authorize, as FAPI 2.0 Message Signing
 * uses it: `response_mode=jwt` (or `query.jwt`) gets one `response` parameter, a JWT signed with
 * the provider's key holding code, state, iss and aud (JARM §2.1, §2.3.1); openid-client's own
 * JARM support (useJwtResponseMode) validates it and exchanges the code.
 */
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { pkce, walk } from "./helpers/authorize";
import { Browser } from "./helpers/browser";
import { registerClient, registerUser } from "./helpers/fixtures";
import { call, ISSUER } from "./helpers/http";
import { client, discoverAs } from "./helpers/rp";

const SECRET = "jarm-client-secret-0123456789";
const CALLBACK = "https://jarm-app.example/cb";
const JO = { username: "jo-jarm", password: "jo-jarm-password" };

beforeAll(async () => {
  await registerClient({
    client_id: "jarm-app",
    client_secret: SECRET,
    grant_types: ["authorization_code"],
    redirect_uris: [CALLBACK],
    scope: "openid",
  });
  await registerUser(JO);
});

describe("JARM at /authorize", () => {
  it("JARM §2.3.1: response_mode=jwt answers with a signed response that openid-client accepts", async () => {
    const config = await discoverAs("jarm-app", SECRET, client.ClientSecretBasic(SECRET));
    client.useJwtResponseMode(config);
    const { verifier, challenge } = await pkce();
    const state = client.randomState();
    const url = await client.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: CALLBACK,
      scope: "openid",
      code_challenge: challenge,
      code_challenge_method: "S256",
      response_mode: "jwt",
      state,
    });
    const callback = new URL((await walk(new Browser(), url, JO)).headers.get("location") ?? "");
    expect([...callback.searchParams.keys()]).toEqual(["response"]);
    const response = decodeJwt(callback.searchParams.get("response") ?? "");
    expect(response).toMatchObject({ iss: ISSUER, aud: "jarm-app", state });
    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    expect(tokens.access_token).toBeTruthy();
  });

  it("JARM §2.3: an unsupported response_mode (fragment.jwt) is refused with invalid_request", async () => {
    const { challenge } = await pkce();
    const query = new URLSearchParams({
      response_type: "code",
      client_id: "jarm-app",
      redirect_uri: CALLBACK,
      scope: "openid",
      code_challenge: challenge,
      code_challenge_method: "S256",
      response_mode: "fragment.jwt",
    });
    const response = await call(`/authorize?${query}`, { redirect: "manual" });
    const location = new URL(response.headers.get("location") ?? "");
    expect(location.searchParams.get("error")).toBe("invalid_request");
  });

  it("JARM §4: discovery lists the response modes and signing algorithms", async () => {
    const metadata = (await (await call("/.well-known/openid-configuration")).json()) as Record<string, unknown>;
    expect(metadata.response_modes_supported).toEqual(["query", "jwt", "query.jwt"]);
    expect(metadata.authorization_signing_alg_values_supported).toEqual(metadata.id_token_signing_alg_values_supported);
  });
});
