/** Signing keys (every supported algorithm, rotation) and the typed settings. */
import { env } from "cloudflare:workers";
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { ConfigurationError, loadSettings } from "../src/config";
import type { Bindings } from "../src/env";
import { mintAccessToken } from "../src/tokens/jwt";
import { loadKeys } from "../src/tokens/keys";

async function privateJwk(alg: string, kid: string) {
  const { privateKey } = await generateKeyPair(alg, {
    extractable: true,
    crv: alg === "EdDSA" ? "Ed25519" : undefined,
  });
  return { ...(await exportJWK(privateKey)), alg, kid };
}

describe("signing keys (SIGNING_KEYS)", () => {
  for (const alg of ["ES256", "PS256", "EdDSA", "RS256"]) {
    it(`signs with ${alg} and publishes the public key only`, async () => {
      const keys = await loadKeys(JSON.stringify({ keys: [await privateJwk(alg, `k-${alg}`)] }));
      const token = await mintAccessToken(keys, {
        issuer: "https://op.example",
        subject: "s",
        clientId: "c",
        audience: "https://op.example",
        scope: "openid",
        lifetime: 60,
      });
      const { protectedHeader } = await jwtVerify(token, createLocalJWKSet(keys.jwks), {
        issuer: "https://op.example",
      });
      expect(protectedHeader).toMatchObject({ alg, kid: `k-${alg}`, typ: "at+jwt" });
      const [published] = keys.jwks.keys;
      expect(published).toMatchObject({ alg, kid: `k-${alg}`, use: "sig" });
      expect(published).not.toHaveProperty("d");
    });
  }

  it("rotates: the first key signs, every key is published", async () => {
    const current = await privateJwk("ES256", "current");
    const next = await privateJwk("EdDSA", "next");
    const keys = await loadKeys(JSON.stringify({ keys: [current, next] }));
    expect(keys.active.kid).toBe("current");
    expect(keys.jwks.keys.map((k) => k.kid)).toEqual(["current", "next"]);
  });

  it("refuses a key set it cannot use, with a message that says why", async () => {
    const ok = await privateJwk("ES256", "a");
    const { d: _d, ...publicOnly } = ok;
    const cases: [string, RegExp][] = [
      ["not json", /not JSON/],
      [JSON.stringify({ keys: [] }), /non-empty/],
      [JSON.stringify({ keys: [{ ...ok, kid: undefined }] }), /kid/],
      [JSON.stringify({ keys: [{ ...ok, alg: "HS256" }] }), /alg must be one of/],
      [JSON.stringify({ keys: [publicOnly] }), /private key/],
      [JSON.stringify({ keys: [ok, ok] }), /same kid/],
    ];
    for (const [secret, message] of cases) {
      await expect(loadKeys(secret)).rejects.toThrow(message);
    }
    expect(() => loadKeys(undefined)).toThrow(ConfigurationError);
  });
});

describe("settings", () => {
  const withVars = (vars: Partial<Bindings>) => loadSettings({ ...env, ...vars } as Bindings);

  it("has documented defaults", () => {
    const settings = withVars({});
    expect(settings.issuer).toBe("http://localhost:8787");
    expect(settings.accessTokenTtl).toBe(600);
    expect(settings.cibaRequestLifetime).toBe(300);
    expect(settings.parLifetime).toBe(60);
    expect(settings.maxRequestBodyBytes).toBe(16384);
  });

  it("refuses values out of range or of the wrong kind, naming the variable", () => {
    const bad: [Partial<Bindings>, RegExp][] = [
      [{ ISSUER: "not a url" }, /ISSUER/],
      [{ ISSUER: "https://id.example.com/path" }, /origin/],
      [{ ACCESS_TOKEN_TTL: "ten" }, /ACCESS_TOKEN_TTL/],
      [{ PAR_LIFETIME: "600" }, /PAR_LIFETIME/],
      [{ AUTHORIZATION_CODE_TTL: "61" }, /AUTHORIZATION_CODE_TTL/],
      [{ REQUIRE_PUSHED_AUTHORIZATION_REQUESTS: "yes" }, /true or false/],
      [{ LOGIN_HINT_TOKEN_ISSUERS: "{}" }, /JSON array/],
      [{ BINDING_MESSAGE_PATTERN: "([" }, /regular expression/],
      [{ CIBA_NOTIFICATION: "sms" }, /one of/],
      [{ CIBA_WEBHOOK_URL: "http://notify.example/ciba" }, /CIBA_WEBHOOK_URL must be an https URL/],
      [{ PAR_INTERACTION_LIFETIME: "30" }, /PAR_INTERACTION_LIFETIME/],
    ];
    for (const [vars, message] of bad) expect(() => withVars(vars), JSON.stringify(vars)).toThrow(message);
  });

  it("takes an https webhook URL, or http on localhost", () => {
    expect(withVars({ CIBA_WEBHOOK_URL: "https://notify.example/ciba" }).cibaWebhookUrl).toBe(
      "https://notify.example/ciba",
    );
    expect(withVars({ CIBA_WEBHOOK_URL: "http://localhost:9000/ciba" }).cibaWebhookUrl).toBe(
      "http://localhost:9000/ciba",
    );
  });

  it("normalises the issuer to its origin", () => {
    expect(withVars({ ISSUER: "https://id.example.com/" }).issuer).toBe("https://id.example.com");
  });
});
