import { describe, expect, it } from "vitest";
import { call, ISSUER, jsonOf } from "./helpers/http";

describe("discovery (OpenID Connect Discovery §3)", () => {
  it("names this issuer and the endpoints under it", async () => {
    const { status, body } = await jsonOf(await call("/.well-known/openid-configuration"));
    expect(status).toBe(200);
    expect(body.issuer).toBe(ISSUER);
    expect(body.token_endpoint).toBe(`${ISSUER}/token`);
    expect(body.jwks_uri).toBe(`${ISSUER}/jwks`);
    expect(body.userinfo_endpoint).toBe(`${ISSUER}/userinfo`);
  });

  it("lists only the grants and auth methods that are implemented", async () => {
    const { body } = await jsonOf(await call("/.well-known/openid-configuration"));
    expect(body.grant_types_supported).toEqual([
      "client_credentials",
      "authorization_code",
      "urn:openid:params:grant-type:ciba",
      "refresh_token",
    ]);
    expect(body.token_endpoint_auth_methods_supported).toEqual([
      "client_secret_basic",
      "client_secret_post",
      "client_secret_jwt",
      "private_key_jwt",
      "tls_client_auth",
      "self_signed_tls_client_auth",
    ]);
    expect(body.id_token_signing_alg_values_supported).toEqual(["ES256"]);
  });

  it("is readable cross-origin", async () => {
    const response = await call("/.well-known/openid-configuration", { headers: { origin: "https://spa.example" } });
    expect(response.headers.get("access-control-allow-origin")).toBe("*");
  });
});

describe("/jwks", () => {
  it("publishes public keys only, each with kid, alg and use", async () => {
    const response = await call("/jwks");
    expect(response.headers.get("content-type")).toContain("application/jwk-set+json");
    const cors = await call("/jwks", { headers: { origin: "https://spa.example" } });
    expect(cors.headers.get("access-control-allow-origin")).toBe("*");
    const { keys } = (await response.json()) as { keys: Record<string, string>[] };
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(key).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
      expect(typeof key.kid).toBe("string");
      for (const privateMember of ["d", "p", "q", "dp", "dq", "qi", "k"]) expect(key).not.toHaveProperty(privateMember);
    }
  });
});
