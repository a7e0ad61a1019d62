/**
 * The FAPI-CIBA profile, switched on per client (`fapi_ciba`; checklist F1, F2): at
 * registration and at the backchannel and token endpoints.
 */
import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { JWT_BEARER_ASSERTION } from "../src/clients/authenticate";
import { type ClientRegistration, RegistrationError, validateClientRegistration } from "../src/clients/metadata";
import { CLIENT_COLUMNS, clientRow } from "../src/clients/registry";
import { CIBA_GRANT, requestFor, settleClientDelivery } from "./helpers/ciba";
import { clientKeyPair, registerClient, registerUser } from "./helpers/fixtures";
import { ISSUER, jsonOf, type OAuthErrorBody, postForm } from "./helpers/http";
import { outsideUrl, received } from "./helpers/outside";
import { BackchannelAuthenticationInteractionService } from "./helpers/provider";

type KeyPair = Awaited<ReturnType<typeof clientKeyPair>>;
const keys: Record<string, KeyPair> = {
  ES256: await clientKeyPair("ES256"),
  PS256: await clientKeyPair("PS256"),
  EdDSA: await clientKeyPair("EdDSA"),
  RS256: await clientKeyPair("RS256"),
};
let gina = "";

const fapiClient = (clientId: string, algs: string[], extra: Partial<ClientRegistration> = {}) =>
  registerClient({
    client_id: clientId,
    client_secret: undefined,
    token_endpoint_auth_method: "private_key_jwt",
    jwks: { keys: algs.map((alg) => keys[alg]?.publicJwk as { kty: string }) },
    grant_types: [CIBA_GRANT],
    backchannel_token_delivery_mode: "poll",
    scope: "openid profile",
    fapi_ciba: true,
    ...extra,
  });

beforeAll(async () => {
  gina = await registerUser({ username: "gina", password: "gina-password" });
  await fapiClient("fapi-es", ["ES256"]);
  await fapiClient("fapi-ps", ["PS256"]);
  await fapiClient("fapi-ed", ["EdDSA"]);
  // An RS256 key next to an ES256 one: authenticates with ES256, then tries RS256.
  await fapiClient("fapi-mixed", ["ES256", "RS256"]);
  await fapiClient("fapi-hour", ["ES256"], { ciba_request_lifetime: 3600 });
  await fapiClient("fapi-ping", ["ES256"], {
    backchannel_token_delivery_mode: "ping",
    backchannel_client_notification_endpoint: outsideUrl("/notify/fapi-ping"),
  });
});

const now = () => Math.floor(Date.now() / 1000);

async function assertion(clientId: string, alg: string): Promise<string> {
  return new SignJWT({ jti: crypto.randomUUID() })
    .setProtectedHeader({ alg, kid: keys[alg]?.publicJwk.kid })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(ISSUER)
    .setIssuedAt()
    .setExpirationTime("1m")
    .sign(keys[alg]?.privateKey as CryptoKey);
}

async function signedRequest(clientId: string, alg: string, claims: Record<string, unknown> = {}): Promise<string> {
  const t = now();
  return new SignJWT({
    iss: clientId,
    aud: ISSUER,
    iat: t,
    nbf: t,
    exp: t + 300,
    jti: crypto.randomUUID(),
    scope: "openid profile",
    login_hint: "gina",
    binding_message: "FAPI 7",
    ...claims,
  })
    .setProtectedHeader({ alg, kid: keys[alg]?.publicJwk.kid })
    .sign(keys[alg]?.privateKey as CryptoKey);
}

async function send(clientId: string, form: Record<string, string>, authAlg = "ES256") {
  const response = await postForm("/bc-authorize", {
    client_assertion_type: JWT_BEARER_ASSERTION,
    client_assertion: await assertion(clientId, authAlg),
    ...form,
  });
  return jsonOf<OAuthErrorBody & { auth_req_id: string; expires_in: number; interval?: number }>(response);
}

describe("F1 F2 registration of a FAPI-CIBA client", () => {
  const base: ClientRegistration = {
    client_id: "fapi-reg",
    client_name: "",
    token_endpoint_auth_method: "private_key_jwt",
    jwks: { keys: [{ kty: "EC", crv: "P-256", x: "x", y: "y" }] },
    grant_types: [CIBA_GRANT],
    redirect_uris: [],
    scope: "openid",
    backchannel_token_delivery_mode: "poll",
    backchannel_user_code_parameter: false,
    require_pushed_authorization_requests: false,
    fapi_ciba: true,
  };
  const check = (reg: Partial<ClientRegistration>) => () =>
    validateClientRegistration({ ...base, ...reg }, ["openid"], { allowHttpNotificationEndpoints: true });

  it("accepts a private_key_jwt CIBA client signing with PS256, ES256 or EdDSA, in poll or ping mode", () => {
    expect(check({})).not.toThrow();
    for (const alg of ["PS256", "ES256", "EdDSA"]) {
      expect(
        check({ token_endpoint_auth_signing_alg: alg, backchannel_authentication_request_signing_alg: alg }),
      ).not.toThrow();
    }
    expect(
      check({
        backchannel_token_delivery_mode: "ping",
        backchannel_client_notification_endpoint: "https://rp.example/cb",
      }),
    ).not.toThrow();
  });

  it("refuses client secrets: confidential clients with private_key_jwt only", () => {
    for (const method of ["client_secret_basic", "client_secret_post", "client_secret_jwt"] as const) {
      expect(
        check({
          token_endpoint_auth_method: method,
          jwks: undefined,
          client_secret: "a-long-enough-secret-0123456789",
        }),
      ).toThrow(/private_key_jwt/);
    }
  });

  it("refuses RS256 for client authentication and for signed requests", () => {
    expect(check({ token_endpoint_auth_signing_alg: "RS256" })).toThrow(RegistrationError);
    expect(check({ backchannel_authentication_request_signing_alg: "RS256" })).toThrow(RegistrationError);
  });

  it("refuses the push delivery mode", () => {
    expect(
      check({
        backchannel_token_delivery_mode: "push",
        backchannel_client_notification_endpoint: "https://rp.example/cb",
      }),
    ).toThrow(/push/);
  });

  it("needs the CIBA grant", () => {
    expect(check({ grant_types: ["client_credentials"], backchannel_token_delivery_mode: undefined })).toThrow(/CIBA/);
  });
});

describe("F2 requests of a FAPI-CIBA client", () => {
  it("succeeds with a signed request carrying a binding_message, signed with PS256, ES256 or EdDSA", async () => {
    for (const [clientId, alg] of [
      ["fapi-es", "ES256"],
      ["fapi-ps", "PS256"],
      ["fapi-ed", "EdDSA"],
    ] as const) {
      const { status, body } = await send(clientId, { request: await signedRequest(clientId, alg) }, alg);
      expect(status, `${alg}: ${JSON.stringify(body)}`).toBe(200);
      expect((await requestFor(body.auth_req_id)).bindingMessage).toBe("FAPI 7");
    }
  });

  it("refuses an unsigned request", async () => {
    const { status, body } = await send("fapi-es", { scope: "openid", login_hint: "gina", binding_message: "FAPI 7" });
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_request");
    expect(body.error_description).toMatch(/signed/);
  });

  it("refuses a request without binding_message", async () => {
    const { status, body } = await send("fapi-es", {
      request: await signedRequest("fapi-es", "ES256", { binding_message: undefined }),
    });
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_request");
    expect(body.error_description).toMatch(/binding_message/);
  });

  it("refuses a request signed with RS256, even with the client's own key", async () => {
    const { status, body } = await send("fapi-mixed", { request: await signedRequest("fapi-mixed", "RS256") });
    expect(status).toBe(400);
    expect(body.error_description).toMatch(/alg must be one of PS256, ES256, EdDSA/);
  });

  it("refuses a client assertion signed with RS256 (invalid_client)", async () => {
    const { status, body } = await send("fapi-mixed", { request: await signedRequest("fapi-mixed", "ES256") }, "RS256");
    expect(status).toBe(401);
    expect(body.error).toBe("invalid_client");
  });

  it("keeps the request's lifetime within 60 minutes", async () => {
    const hour = await send("fapi-hour", {
      request: await signedRequest("fapi-hour", "ES256", { requested_expiry: 3600 }),
    });
    expect(hour.status).toBe(200);
    expect(hour.body.expires_in).toBe(3600);
    const more = await send("fapi-hour", {
      request: await signedRequest("fapi-hour", "ES256", { requested_expiry: 3601 }),
    });
    expect(more.status).toBe(400);
    expect(more.body.error).toBe("invalid_request");
    const t = now();
    const longJwt = await send("fapi-hour", {
      request: await signedRequest("fapi-hour", "ES256", { nbf: t, exp: t + 3601 }),
    });
    expect(longJwt.status).toBe(400);
  });

  it("refuses push even for a client whose registry row says push (no push in FAPI-CIBA)", async () => {
    const row = await clientRow(
      {
        client_id: "fapi-push-row",
        client_name: "",
        token_endpoint_auth_method: "private_key_jwt",
        jwks: { keys: [keys.ES256?.publicJwk as { kty: string }] },
        grant_types: [CIBA_GRANT],
        redirect_uris: [],
        scope: "openid",
        backchannel_token_delivery_mode: "push",
        backchannel_client_notification_endpoint: "https://rp.example/cb",
        backchannel_user_code_parameter: false,
        require_pushed_authorization_requests: false,
        fapi_ciba: true,
      },
      env.DATA_ENCRYPTION_KEY,
    );
    await env.DB.prepare(
      `INSERT INTO clients (${CLIENT_COLUMNS.join(", ")}) VALUES (${CLIENT_COLUMNS.map(() => "?").join(", ")})`,
    )
      .bind(...CLIENT_COLUMNS.map((column) => row[column]))
      .run();
    const { status, body } = await send("fapi-push-row", {
      request: await signedRequest("fapi-push-row", "ES256", { client_notification_token: "t0k3n" }),
    });
    expect(status).toBe(400);
    expect(body.error).toBe("unauthorized_client");
  });

  it("runs ping mode end to end: token inside the signed request, ping after approval, tokens by polling", async () => {
    const { status, body } = await send("fapi-ping", {
      request: await signedRequest("fapi-ping", "ES256", { client_notification_token: "fapi-bearer-123" }),
    });
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.interval).toBe(5);
    const { internalId } = await requestFor(body.auth_req_id);
    const outcome = await new BackchannelAuthenticationInteractionService(env).completeLoginRequest(
      { internalId, scopesValuesConsented: ["openid"] },
      { subject: gina },
    );
    expect(outcome.ok).toBe(true);
    expect((await settleClientDelivery(internalId)).clientDeliveryStatus).toBe("sent");
    const [ping] = await received("/notify/fapi-ping");
    expect(ping?.headers.authorization).toBe("Bearer fapi-bearer-123");
    expect(JSON.parse(ping?.body ?? "{}")).toEqual({ auth_req_id: body.auth_req_id });

    const token = await postForm("/token", {
      grant_type: CIBA_GRANT,
      auth_req_id: body.auth_req_id,
      client_assertion_type: JWT_BEARER_ASSERTION,
      client_assertion: await assertion("fapi-ping", "ES256"),
    });
    expect(token.status).toBe(200);
  });
});
