/**
 * JARM (FAPI 2.0 Message Signing's signed authorization responses): the response JWT (§2.1),
 * the response modes for response_type=code (§2.3), the signing key (§3, §4), and interop:
 * openid-client in JWT response mode accepts the redirect, and refuses it altered or addressed
 * to another client.
 */
import { env } from "cloudflare:workers";
import { base64url, createLocalJWKSet, decodeProtectedHeader, exportJWK, generateKeyPair, jwtVerify } from "jose";
import * as client from "openid-client";
import { describe, expect, it } from "vitest";
import { OAuthError } from "../src/errors";
import {
  jarmRedirect,
  jarmRedirectUrl,
  jarmResponseMode,
  jarmSigningKey,
  signAuthorizationResponse,
} from "../src/jarm/response";
import { loadKeys } from "../src/tokens/keys";

const ISSUER = "https://op.example";
const CALLBACK = "https://app.example/cb?tenant=7";
const keys = await loadKeys(env.SIGNING_KEYS);

/** A key set with an ES256 key first (active) and a PS256 key second. */
async function twoKeySet() {
  const jwks = await Promise.all(
    ["ES256", "PS256"].map(async (alg, index) => {
      const { privateKey } = await generateKeyPair(alg, { extractable: true });
      return { ...(await exportJWK(privateKey)), alg, kid: `k${index}` };
    }),
  );
  return loadKeys(JSON.stringify({ keys: jwks }));
}

const claimsOf = async (jwt: string) =>
  (await jwtVerify(jwt, createLocalJWKSet(keys.jwks), { issuer: ISSUER, audience: "jarm-client" })).payload;

describe("JARM §2.1: the authorization response as a signed JWT", () => {
  it("carries code and state with iss, aud = client_id and a short exp, signed by the active key (kid)", async () => {
    const jwt = await signAuthorizationResponse(keys.active, {
      issuer: ISSUER,
      clientId: "jarm-client",
      params: { code: "the-code", state: "xyz", error: undefined },
    });
    const claims = await claimsOf(jwt);
    const now = Math.floor(Date.now() / 1000);
    expect(claims).toMatchObject({ code: "the-code", state: "xyz", iss: ISSUER, aud: "jarm-client" });
    expect(claims).not.toHaveProperty("error");
    expect(claims.exp).toBeGreaterThan(now);
    expect(claims.exp).toBeLessThanOrEqual(now + 60);
    expect(decodeProtectedHeader(jwt)).toEqual({
      alg: keys.active.alg,
      kid: keys.active.kid,
    });
  });

  it("carries an error response the same way, and the response's parameters cannot replace iss, aud or exp", async () => {
    const jwt = await signAuthorizationResponse(keys.active, {
      issuer: ISSUER,
      clientId: "jarm-client",
      params: {
        error: "access_denied",
        error_description: "the user said no",
        state: "s",
        iss: "https://evil.example",
        aud: "other",
        exp: "9999999999",
      },
      lifetime: 30,
    });
    const claims = await claimsOf(jwt);
    expect(claims).toMatchObject({ error: "access_denied", error_description: "the user said no", state: "s" });
    expect(claims.exp).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 30);
  });
});

describe("JARM §2.3: response modes for response_type=code", () => {
  it("jwt and query.jwt give query.jwt; no mode or query stay plain; other modes are refused", () => {
    expect(jarmResponseMode("jwt")).toBe("query.jwt");
    expect(jarmResponseMode("query.jwt")).toBe("query.jwt");
    expect(jarmResponseMode(undefined)).toBeUndefined();
    expect(jarmResponseMode("query")).toBeUndefined();
    for (const mode of ["fragment.jwt", "form_post.jwt", "form_post", "fragment", "JWT"]) {
      expect(() => jarmResponseMode(mode)).toThrow(expect.objectContaining({ code: "invalid_request" }));
    }
  });

  it("§2.3.1: the redirect keeps the registered query and adds only response", () => {
    const url = new URL(jarmRedirectUrl(CALLBACK, "a.b.c"));
    expect(url.origin + url.pathname).toBe("https://app.example/cb");
    expect([...url.searchParams]).toEqual([
      ["tenant", "7"],
      ["response", "a.b.c"],
    ]);
  });
});

describe("JARM §3, §4: the key that signs a client's responses", () => {
  it("the key of the client's registered alg, else the active key; an alg without a key is unauthorized_client", async () => {
    const two = await twoKeySet();
    expect(jarmSigningKey(two, undefined).kid).toBe("k0");
    expect(jarmSigningKey(two, "ES256").kid).toBe("k0");
    expect(jarmSigningKey(two, "PS256").kid).toBe("k1");
    expect(() => jarmSigningKey(two, "EdDSA")).toThrow(OAuthError);
    expect(() => jarmSigningKey(two, "EdDSA")).toThrow(expect.objectContaining({ code: "unauthorized_client" }));
    const url = new URL(
      await jarmRedirect(two, "PS256", CALLBACK, { issuer: ISSUER, clientId: "c", params: { code: "x" } }),
    );
    const response = url.searchParams.get("response") ?? "";
    const { protectedHeader } = await jwtVerify(response, createLocalJWKSet(two.jwks), {
      issuer: ISSUER,
      audience: "c",
    });
    expect(protectedHeader).toMatchObject({ alg: "PS256", kid: "k1" });
  });
});

describe("interop: openid-client in JWT response mode", () => {
  /** A client of ISSUER whose /jwks and /token are answered here (the token endpoint is not under test). */
  function jarmClient(clientId: string) {
    const config = new client.Configuration(
      {
        issuer: ISSUER,
        authorization_endpoint: `${ISSUER}/authorize`,
        token_endpoint: `${ISSUER}/token`,
        jwks_uri: `${ISSUER}/jwks`,
        authorization_signing_alg_values_supported: [keys.active.alg],
      },
      clientId,
      "secret",
    );
    client.useJwtResponseMode(config);
    const codes: string[] = [];
    config[client.customFetch] = async (url, options) => {
      if (url === `${ISSUER}/jwks`) return Response.json(keys.jwks) as unknown as ReturnType<client.CustomFetch>;
      codes.push(new URLSearchParams(String(options.body)).get("code") ?? "");
      return Response.json({
        access_token: "at",
        token_type: "Bearer",
        expires_in: 60,
      }) as unknown as ReturnType<client.CustomFetch>;
    };
    return { config, codes };
  }
  const respond = (clientId: string) =>
    jarmRedirect(keys, undefined, CALLBACK, { issuer: ISSUER, clientId, params: { code: "code-1", state: "st" } });

  it("accepts the signed response, finds code and state in it, and redeems the code", async () => {
    const { config, codes } = jarmClient("jarm-client");
    const tokens = await client.authorizationCodeGrant(config, new URL(await respond("jarm-client")), {
      expectedState: "st",
    });
    expect(tokens.access_token).toBe("at");
    expect(codes).toEqual(["code-1"]);
  });

  it("refuses a response altered on the way, or signed for another client", async () => {
    const { config, codes } = jarmClient("jarm-client");
    const url = new URL(await respond("jarm-client"));
    const [head, body, signature] = (url.searchParams.get("response") ?? "").split(".");
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(body ?? "")));
    const altered = base64url.encode(JSON.stringify({ ...claims, code: "stolen" }));
    url.searchParams.set("response", `${head}.${altered}.${signature}`);
    await expect(client.authorizationCodeGrant(config, url, { expectedState: "st" })).rejects.toMatchObject({
      cause: { message: "JWT signature verification failed" },
    });
    const forOther = new URL(await respond("other-client"));
    await expect(client.authorizationCodeGrant(config, forOther, { expectedState: "st" })).rejects.toMatchObject({
      code: "OAUTH_JWT_CLAIM_COMPARISON_FAILED",
      cause: { cause: { claim: "aud" } },
    });
    expect(codes).toEqual([]);
  });
});
