/**
 * The FAPI 2.0 Security Profile (final) as a per-client profile (`profile: "fapi2"`): each rule
 * edge-op enforces for such clients, and its refusal, in a test named after the clause. The
 * registration rules are checked by validateClientRegistration (the admin tool and every store
 * go through it); the runtime rules through the Worker, with openid-client as the client.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { codeLifetimeFor } from "../src/clients/fapi2";
import { type ClientRegistration, RegistrationError, validateClientRegistration } from "../src/clients/metadata";
import { pkce } from "./helpers/authorize";
import { clientKeyPair, registerClient, registerUser } from "./helpers/fixtures";
import { call, jsonOf, type OAuthErrorBody } from "./helpers/http";
import { BackchannelAuthenticationInteractionService } from "./helpers/provider";
import { client, discoverAs } from "./helpers/rp";

const CIBA = "urn:openid:params:grant-type:ciba";
const keys = await clientKeyPair("ES256");
let max = "";

const fapi2Ciba: ClientRegistration = {
  client_id: "fapi2-ciba",
  client_name: "FAPI 2.0 till",
  token_endpoint_auth_method: "private_key_jwt",
  token_endpoint_auth_signing_alg: "ES256",
  jwks: { keys: [keys.publicJwk as { kty: string }] },
  grant_types: [CIBA, "refresh_token"],
  redirect_uris: [],
  scope: "openid offline_access",
  backchannel_token_delivery_mode: "poll",
  backchannel_user_code_parameter: false,
  require_pushed_authorization_requests: false,
  ciba_polling_interval: 1,
  profile: "fapi2",
};

beforeAll(async () => {
  await registerClient({ ...fapi2Ciba, client_secret: undefined });
  await registerClient({
    ...fapi2Ciba,
    client_id: "fapi2-web",
    client_secret: undefined,
    grant_types: ["authorization_code"],
    redirect_uris: ["https://bank-app.example/cb"],
    backchannel_token_delivery_mode: undefined,
    scope: "openid",
  });
  max = await registerUser({ username: "max-fapi2", password: "max-fapi2-password" });
});

const rp = (clientId: string) =>
  discoverAs(clientId, { token_endpoint_auth_signing_alg: "ES256" }, client.PrivateKeyJwt(keys.privateKey));

async function approvedCibaRequest(config: client.Configuration) {
  const started = await client.initiateBackchannelAuthentication(config, {
    scope: "openid offline_access",
    login_hint: "max-fapi2",
  });
  const interaction = new BackchannelAuthenticationInteractionService(env);
  for (const request of await interaction.getPendingLoginRequestsForCurrentUser({ subject: max })) {
    await interaction.completeLoginRequest(
      { internalId: request.internalId, scopesValuesConsented: request.requestedScopes },
      { subject: max, sessionId: "sess-fapi2", authTime: Math.floor(Date.now() / 1000), amr: ["pwd"] },
    );
  }
  return started;
}

const codeClient: Partial<ClientRegistration> = {
  grant_types: ["authorization_code"],
  backchannel_token_delivery_mode: undefined,
  scope: "openid",
};

function refused(reg: Partial<ClientRegistration>): string {
  try {
    validateClientRegistration({ ...fapi2Ciba, ...reg } as ClientRegistration, ["openid", "offline_access"]);
  } catch (error) {
    if (error instanceof RegistrationError) return error.message;
    throw error;
  }
  return "";
}

describe("FAPI 2.0 §5.3.2.1 (authorization server, general)", () => {
  it("§5.3.2.1 (4), (5): a token request without DPoP or mTLS is refused; with DPoP the token is bound", async () => {
    const config = await rp("fapi2-ciba");
    const started = await approvedCibaRequest(config);
    await expect(client.pollBackchannelAuthenticationGrant(config, started)).rejects.toMatchObject({
      error: "invalid_dpop_proof",
    });
    const DPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair());
    const tokens = await client.pollBackchannelAuthenticationGrant(config, started, undefined, { DPoP });
    expect(tokens.token_type.toLowerCase()).toBe("dpop");
  });

  it("§5.3.2.1 (9): the refresh token is not rotated: refreshing twice with the same token works and returns it", async () => {
    const config = await rp("fapi2-ciba");
    const DPoP = client.getDPoPHandle(config, await client.randomDPoPKeyPair());
    const started = await approvedCibaRequest(config);
    const tokens = await client.pollBackchannelAuthenticationGrant(config, started, undefined, { DPoP });
    const refreshToken = tokens.refresh_token ?? "";
    const first = await client.refreshTokenGrant(config, refreshToken, undefined, { DPoP });
    const second = await client.refreshTokenGrant(config, refreshToken, undefined, { DPoP });
    expect(first.refresh_token).toBe(refreshToken);
    expect(second.refresh_token).toBe(refreshToken);
  });

  it("§5.3.2.1 (6): client authentication other than private_key_jwt or mTLS is refused at registration", () => {
    expect(
      refused({ token_endpoint_auth_method: "client_secret_basic", client_secret: "s".repeat(32), jwks: undefined }),
    ).toMatch(/FAPI 2.0 §5.3.2.1/);
  });

  it("§5.4.1: client assertions signed with an algorithm other than PS256, ES256 or EdDSA are refused at registration", () => {
    expect(refused({ token_endpoint_auth_signing_alg: "RS256" })).toMatch(/FAPI 2.0 §5.4.1/);
  });
});

describe("FAPI 2.0 §5.3.2.2 (authorization code grant)", () => {
  it("§5.3.2.2: PAR is required: an unpushed authorization request of a fapi2 client is refused", async () => {
    const { challenge } = await pkce();
    const query = new URLSearchParams({
      response_type: "code",
      client_id: "fapi2-web",
      redirect_uri: "https://bank-app.example/cb",
      scope: "openid",
      code_challenge: challenge,
      code_challenge_method: "S256",
    });
    const response = await call(`/authorize?${query}`, { redirect: "manual" });
    expect(response.status, await response.clone().text()).toBe(303);
    const location = new URL(response.headers.get("location") ?? "");
    expect(location.searchParams.get("error")).toBe("invalid_request");
    expect(location.searchParams.get("error_description")).toMatch(/pushed authorization requests/);
  });

  it("§5.3.2.2: authorization codes of fapi2 clients live at most 60 seconds", () => {
    expect(codeLifetimeFor({ profile: "fapi2" }, 600)).toBe(60);
    expect(codeLifetimeFor({ profile: "fapi2" }, 30)).toBe(30);
    expect(codeLifetimeFor({}, 600)).toBe(600);
  });

  it("§5.3.3 with RFC 8252 §7.3: a private-use scheme redirect URI is refused at registration, loopback http excepted", () => {
    expect(refused({ ...codeClient, redirect_uris: ["com.example.bank:/cb"] })).toMatch(/FAPI 2.0 §5.3.3/);
    expect(refused({ ...codeClient, redirect_uris: ["http://127.0.0.1:8080/cb"] })).toBe("");
  });
});

describe("FAPI-CIBA rules kept for fapi2 CIBA clients", () => {
  it("FAPI-CIBA §5.2.2: push mode is refused at registration", () => {
    expect(
      refused({
        backchannel_token_delivery_mode: "push",
        backchannel_client_notification_endpoint: "https://till.example/cb",
      }),
    ).toMatch(/push mode/);
  });
});

describe("discovery", () => {
  it("lists the DPoP algorithms a fapi2 client may use", async () => {
    const { body } = await jsonOf<Record<string, unknown> & OAuthErrorBody>(
      await call("/.well-known/openid-configuration"),
    );
    expect(body.dpop_signing_alg_values_supported).toContain("ES256");
  });
});
