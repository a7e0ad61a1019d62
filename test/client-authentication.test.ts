/**
 * Client authentication (RFC 6749 §2.3, OpenID Connect Core §9, RFC 7523), exercised at the
 * token endpoint with the client_credentials grant.
 */
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { SignJWT } from "jose";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { CLIENT_COLUMNS, clientRow } from "../src/clients/registry";
import { createProvider } from "../src/index";
import { clientKeyPair, registerClient } from "./helpers/fixtures";
import { basic, ISSUER, jsonOf, type OAuthErrorBody, postForm } from "./helpers/http";
import { outsideUrl, program, received } from "./helpers/outside";
import { client, discoverAs } from "./helpers/rp";

const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const TOKEN = `${ISSUER}/token`;
const grant = { grant_type: "client_credentials" };

const keys = await clientKeyPair("ES256");
const otherKeys = await clientKeyPair("ES256");
const remoteKeys = await clientKeyPair("PS256");

beforeAll(async () => {
  await registerClient({ client_id: "basic-client", client_secret: "basic-secret-0123456789" });
  await registerClient({
    client_id: "post-client",
    client_secret: "post-secret-0123456789",
    token_endpoint_auth_method: "client_secret_post",
  });
  await registerClient({
    client_id: "hmac-client",
    client_secret: "hmac-secret-0123456789-abcdefghijklmnop",
    token_endpoint_auth_method: "client_secret_jwt",
  });
  await registerClient({
    client_id: "key-client",
    client_secret: undefined,
    token_endpoint_auth_method: "private_key_jwt",
    jwks: { keys: [keys.publicJwk as { kty: string }] },
  });
  // jwks_uri served by the test helper server, a real HTTP server outside the Worker.
  await fetch(`${env.TEST_HELPER_URL}/_program/jwks/remote-key-client`, {
    method: "PUT",
    body: JSON.stringify({ status: 200, body: JSON.stringify({ keys: [remoteKeys.publicJwk] }) }),
  });
  await registerClient({
    client_id: "remote-key-client",
    client_secret: undefined,
    token_endpoint_auth_method: "private_key_jwt",
    jwks_uri: `${env.TEST_HELPER_URL}/jwks/remote-key-client`,
  });
});

async function assertion(
  clientId: string,
  key: CryptoKey | Uint8Array,
  alg: string,
  claims: Record<string, unknown> = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ jti: crypto.randomUUID(), ...claims })
    .setProtectedHeader({ alg })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience((claims.aud as string) ?? TOKEN)
    .setIssuedAt(now)
    .setExpirationTime((claims.exp as number) ?? now + 60)
    .sign(key);
}

async function tokenWithAssertion(jwt: string, extra: Record<string, string> = {}) {
  return jsonOf<OAuthErrorBody & { access_token?: string }>(
    await postForm("/token", { ...grant, client_assertion_type: JWT_BEARER, client_assertion: jwt, ...extra }),
  );
}

const hmacKey = new TextEncoder().encode("hmac-secret-0123456789-abcdefghijklmnop");

describe("client_secret_basic", () => {
  it("accepts the registered secret", async () => {
    expect((await postForm("/token", grant, basic("basic-client", "basic-secret-0123456789"))).status).toBe(200);
  });

  it("answers a wrong secret with 401 invalid_client and a Basic challenge", async () => {
    const response = await postForm("/token", grant, basic("basic-client", "basic-secret-012345678X"));
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Basic /);
    expect(((await response.json()) as OAuthErrorBody).error).toBe("invalid_client");
  });

  it("answers an unknown client exactly like a wrong secret", async () => {
    const response = await postForm("/token", grant, basic("nobody", "basic-secret-0123456789"));
    expect(response.status).toBe(401);
    expect(((await response.json()) as OAuthErrorBody).error).toBe("invalid_client");
  });

  it("answers malformed Basic credentials with 401, not 500", async () => {
    for (const header of ["Basic !!!", `Basic ${btoa("no-colon")}`, `Basic ${btoa("%zz:%zz")}`]) {
      const response = await postForm("/token", grant, { authorization: header });
      expect(response.status).toBe(401);
    }
  });

  it("refuses a client registered for Basic that posts its secret in the body", async () => {
    const { status, body } = await jsonOf<OAuthErrorBody>(
      await postForm("/token", { ...grant, client_id: "basic-client", client_secret: "basic-secret-0123456789" }),
    );
    expect(status).toBe(401);
    expect(body.error).toBe("invalid_client");
  });
});

describe("client_secret_post", () => {
  it("accepts client_id and client_secret in the body", async () => {
    const response = await postForm("/token", {
      ...grant,
      client_id: "post-client",
      client_secret: "post-secret-0123456789",
    });
    expect(response.status).toBe(200);
  });

  it("works with openid-client's ClientSecretPost", async () => {
    const config = await discoverAs("post-client", undefined, client.ClientSecretPost("post-secret-0123456789"));
    expect((await client.clientCredentialsGrant(config)).access_token).toBeTruthy();
  });
});

describe("more than one method, or none", () => {
  it("refuses two methods at once with invalid_request (RFC 6749 §2.3)", async () => {
    const { status, body } = await jsonOf<OAuthErrorBody>(
      await postForm(
        "/token",
        { ...grant, client_id: "basic-client", client_secret: "basic-secret-0123456789" },
        basic("basic-client", "basic-secret-0123456789"),
      ),
    );
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_request");
  });

  it("refuses a request with no client authentication with 401", async () => {
    const { status, body } = await jsonOf<OAuthErrorBody>(
      await postForm("/token", { ...grant, client_id: "basic-client" }),
    );
    expect(status).toBe(401);
    expect(body.error).toBe("invalid_client");
  });
});

describe("client_secret_jwt (HMAC over the client secret)", () => {
  it("accepts an HS256 assertion, also from openid-client", async () => {
    expect((await tokenWithAssertion(await assertion("hmac-client", hmacKey, "HS256"))).status).toBe(200);
    const config = await discoverAs(
      "hmac-client",
      undefined,
      client.ClientSecretJwt("hmac-secret-0123456789-abcdefghijklmnop"),
    );
    expect((await client.clientCredentialsGrant(config)).access_token).toBeTruthy();
  });

  it("refuses an assertion signed with another secret", async () => {
    const wrong = new TextEncoder().encode("not-the-secret-0123456789-abcdefghijklmno");
    expect((await tokenWithAssertion(await assertion("hmac-client", wrong, "HS256"))).status).toBe(401);
  });
});

describe("private_key_jwt", () => {
  it("accepts an assertion signed with the registered key (inline jwks)", async () => {
    expect((await tokenWithAssertion(await assertion("key-client", keys.privateKey, "ES256"))).status).toBe(200);
  });

  it("accepts an assertion signed with a key from the client's jwks_uri", async () => {
    const jwt = await assertion("remote-key-client", remoteKeys.privateKey, "PS256");
    expect((await tokenWithAssertion(jwt)).status).toBe(200);
  });

  it("works with openid-client's PrivateKeyJwt", async () => {
    const config = await discoverAs("key-client", undefined, client.PrivateKeyJwt(keys.privateKey));
    expect((await client.clientCredentialsGrant(config)).access_token).toBeTruthy();
  });

  it("refuses an assertion signed by a key the client did not register", async () => {
    const { status, body } = await tokenWithAssertion(await assertion("key-client", otherKeys.privateKey, "ES256"));
    expect(status).toBe(401);
    expect(body.error).toBe("invalid_client");
  });

  it("refuses an HMAC assertion from a key client (no algorithm confusion)", async () => {
    const { status } = await tokenWithAssertion(await assertion("key-client", hmacKey, "HS256"));
    expect(status).toBe(401);
  });

  it("accepts aud = the issuer or the token endpoint, and refuses any other audience (C5)", async () => {
    expect(
      (await tokenWithAssertion(await assertion("key-client", keys.privateKey, "ES256", { aud: ISSUER }))).status,
    ).toBe(200);
    expect(
      (await tokenWithAssertion(await assertion("key-client", keys.privateKey, "ES256", { aud: TOKEN }))).status,
    ).toBe(200);
    const other = await assertion("key-client", keys.privateKey, "ES256", { aud: "https://other.example/token" });
    expect((await tokenWithAssertion(other)).status).toBe(401);
  });

  it("refuses a replayed assertion: the jti is remembered (strongly consistent)", async () => {
    const jwt = await assertion("key-client", keys.privateKey, "ES256");
    expect((await tokenWithAssertion(jwt)).status).toBe(200);
    const replay = await tokenWithAssertion(jwt);
    expect(replay.status).toBe(401);
    expect(replay.body.error_description).toMatch(/jti/);
  });

  it("refuses concurrent replays: exactly one of several identical assertions succeeds", async () => {
    const jwt = await assertion("key-client", keys.privateKey, "ES256");
    const results = await Promise.all(Array.from({ length: 5 }, () => tokenWithAssertion(jwt)));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
  });

  it("requires jti and exp, and refuses exp too far ahead or in the past", async () => {
    const now = Math.floor(Date.now() / 1000);
    const noJti = await new SignJWT({})
      .setProtectedHeader({ alg: "ES256" })
      .setIssuer("key-client")
      .setSubject("key-client")
      .setAudience(TOKEN)
      .setExpirationTime(now + 60)
      .sign(keys.privateKey);
    expect((await tokenWithAssertion(noJti)).status).toBe(401);
    const farFuture = await assertion("key-client", keys.privateKey, "ES256", { exp: now + 7200 });
    expect((await tokenWithAssertion(farFuture)).status).toBe(401);
    const expired = await assertion("key-client", keys.privateKey, "ES256", { exp: now - 120 });
    expect((await tokenWithAssertion(expired)).status).toBe(401);
  });

  it("refuses iss different from sub, and client_id different from the assertion's", async () => {
    const now = Math.floor(Date.now() / 1000);
    const wrongIss = await new SignJWT({ jti: crypto.randomUUID() })
      .setProtectedHeader({ alg: "ES256" })
      .setIssuer("someone-else")
      .setSubject("key-client")
      .setAudience(TOKEN)
      .setExpirationTime(now + 60)
      .sign(keys.privateKey);
    expect((await tokenWithAssertion(wrongIss)).status).toBe(401);
    const jwt = await assertion("key-client", keys.privateKey, "ES256");
    expect((await tokenWithAssertion(jwt, { client_id: "basic-client" })).status).toBe(401);
  });

  it("refuses a wrong client_assertion_type and a non-JWT assertion", async () => {
    const jwt = await assertion("key-client", keys.privateKey, "ES256");
    const wrongType = await postForm("/token", { ...grant, client_assertion_type: "urn:x", client_assertion: jwt });
    expect(wrongType.status).toBe(401);
    expect((await tokenWithAssertion("not.a.jwt")).status).toBe(401);
    expect((await tokenWithAssertion("x".repeat(5000))).status).toBe(401);
  });
});

describe("private_key_jwt: a jwks_uri is fetched only from a public address, checked before each fetch (checklist S3)", () => {
  // The suite runs with the development switch on; a provider of its own gets the default.
  const production = createProvider<Cloudflare.Env>();
  const productionEnv = { ...env, ALLOW_HTTP_NOTIFICATION_ENDPOINTS: "false" };
  const document = { status: 200, body: JSON.stringify({ keys: [remoteKeys.publicJwk] }) };

  async function tokenInProduction(jwt: string) {
    const ctx = createExecutionContext();
    const request = new Request(TOKEN, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ ...grant, client_assertion_type: JWT_BEARER, client_assertion: jwt }),
    });
    const response = await production.fetch(request, productionEnv, ctx);
    await waitOnExecutionContext(ctx);
    return jsonOf<OAuthErrorBody>(response);
  }

  /** The JSON lines edge-op warns with while `run` runs. */
  async function warnings(run: () => Promise<void>): Promise<string[]> {
    const lines: string[] = [];
    vi.spyOn(console, "warn").mockImplementation((line: unknown) => {
      lines.push(String(line));
    });
    await run();
    return lines;
  }

  afterEach(() => {
    vi.restoreAllMocks();
  });

  const refusalIn = (lines: string[]): { reason?: string } | undefined =>
    lines
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { event: string; reason?: string })
      .find((line) => line.event === "jwks_uri_refused");

  it("a loopback jwks_uri (registered in development, or before the rule) is not fetched in production: 401 invalid_client", async () => {
    await program("/jwks/s3-loopback", document);
    await registerClient({
      client_id: "s3-loopback-keys",
      client_secret: undefined,
      token_endpoint_auth_method: "private_key_jwt",
      jwks_uri: outsideUrl("/jwks/s3-loopback"),
    });
    const logged = await warnings(async () => {
      const { status, body } = await tokenInProduction(
        await assertion("s3-loopback-keys", remoteKeys.privateKey, "PS256"),
      );
      expect(status).toBe(401);
      expect(body.error).toBe("invalid_client");
    });
    expect(await received("/jwks/s3-loopback")).toHaveLength(0);
    const refusal = refusalIn(logged);
    expect(refusal?.reason).toMatch(/jwks_uri must not name a non-public address: loopback/);
    expect(logged.join("\n")).not.toContain("/jwks/s3-loopback");
    // The same client and document with the development switch (this suite's Worker): fetched, 200.
    const development = await tokenWithAssertion(await assertion("s3-loopback-keys", remoteKeys.privateKey, "PS256"));
    expect(development.status).toBe(200);
    expect(await received("/jwks/s3-loopback")).toHaveLength(1);
  });

  it("a link-local jwks_uri in a row written around registration is never fetched, even in development: 401 invalid_client", async () => {
    // A row edited by hand: validateClientRegistration would refuse it.
    const row = await clientRow(
      {
        client_id: "s3-metadata-keys",
        client_name: "",
        token_endpoint_auth_method: "private_key_jwt",
        grant_types: ["client_credentials"],
        redirect_uris: [],
        scope: "openid",
        jwks_uri: "https://169.254.169.254/latest/meta-data/jwks",
        backchannel_user_code_parameter: false,
        require_pushed_authorization_requests: false,
      },
      env.DATA_ENCRYPTION_KEY,
    );
    await env.DB.prepare(
      `INSERT INTO clients (${CLIENT_COLUMNS.join(", ")}) VALUES (${CLIENT_COLUMNS.map(() => "?").join(", ")})`,
    )
      .bind(...CLIENT_COLUMNS.map((column) => row[column]))
      .run();
    const logged = await warnings(async () => {
      const { status, body } = await tokenWithAssertion(
        await assertion("s3-metadata-keys", remoteKeys.privateKey, "PS256"),
      );
      expect(status).toBe(401);
      expect(body.error).toBe("invalid_client");
    });
    const refusal = refusalIn(logged);
    expect(refusal?.reason).toMatch(/non-public address: link-local, cloud metadata \(169\.254\.0\.0\/16\)/);
    expect(logged.join("\n")).not.toContain("meta-data");
  });
});
