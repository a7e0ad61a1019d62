/**
 * Mutual-TLS client authentication and certificate-bound tokens (RFC 8705), with requests that
 * carry `cf.tlsClientAuth` the way Cloudflare's edge fills it in.
 */
import { env } from "cloudflare:workers";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { validateClientRegistration } from "../src/clients/metadata";
import { loadSettings } from "../src/config";
import { sha256Hex } from "../src/crypto/hash";
import { CertificateParseError, parseCertificate } from "../src/mtls/der";
import { issueUserTokens } from "../src/tokens/issue";
import { CIBA_GRANT, requestFor } from "./helpers/ciba";
import { testContext } from "./helpers/context";
import { registerClient, registerUser } from "./helpers/fixtures";
import { call, ISSUER, jsonOf, type OAuthErrorBody } from "./helpers/http";
import { callWithCertificate, certificates, postFormWithCertificate, thumbprint } from "./helpers/mtls";
import { BackchannelAuthenticationInteractionService, mintPushTokens } from "./helpers/provider";

const { kiosk, other, selfSigned } = certificates;
let lena = "";

beforeAll(async () => {
  const common = {
    client_secret: undefined,
    grant_types: ["client_credentials", CIBA_GRANT, "refresh_token"],
    backchannel_token_delivery_mode: "poll" as const,
    scope: "openid profile offline_access api:read",
    ciba_polling_interval: 1,
  };
  await registerClient({
    ...common,
    client_id: "kiosk-dn",
    token_endpoint_auth_method: "tls_client_auth",
    tls_client_auth_subject_dn: "CN=kiosk-9,O=Example Bank,C=GB",
  });
  await registerClient({
    ...common,
    client_id: "kiosk-dns",
    token_endpoint_auth_method: "tls_client_auth",
    tls_client_auth_san_dns: "kiosk-9.example",
  });
  await registerClient({
    ...common,
    client_id: "kiosk-uri",
    token_endpoint_auth_method: "tls_client_auth",
    tls_client_auth_san_uri: "https://kiosk.example/9",
  });
  await registerClient({
    ...common,
    client_id: "kiosk-ip",
    token_endpoint_auth_method: "tls_client_auth",
    tls_client_auth_san_ip: "192.0.2.9",
  });
  await registerClient({
    ...common,
    client_id: "kiosk-email",
    token_endpoint_auth_method: "tls_client_auth",
    tls_client_auth_san_email: "kiosk9@example.com",
  });
  await registerClient({
    ...common,
    client_id: "self-signed",
    token_endpoint_auth_method: "self_signed_tls_client_auth",
    jwks: { keys: [selfSigned.publicJwk as { kty: string }] },
  });
  lena = await registerUser({ username: "lena", password: "lena-password", name: "Lena Example" });
});

const cc = (clientId: string) => ({ grant_type: "client_credentials", client_id: clientId, scope: "api:read" });

async function token(clientId: string, certificate?: typeof kiosk, options?: { verified?: boolean; rfc9440?: string }) {
  return jsonOf<{ access_token: string } & OAuthErrorBody>(
    await postFormWithCertificate("/token", cc(clientId), certificate, options),
  );
}

describe("tls_client_auth (RFC 8705 §2.1)", () => {
  it("accepts the CA-issued certificate with the registered subject DN or subjectAltName", async () => {
    for (const clientId of ["kiosk-dn", "kiosk-dns", "kiosk-uri", "kiosk-ip", "kiosk-email"]) {
      const { status } = await token(clientId, kiosk);
      expect(status, clientId).toBe(200);
    }
  });

  it("refuses a request without a certificate, with an unverified one, and with a wrong one", async () => {
    for (const [certificate, verified] of [
      [undefined, true],
      [kiosk, false],
      [other, true],
    ] as const) {
      const { status, body } = await token("kiosk-dn", certificate, { verified });
      expect(status).toBe(401);
      expect(body.error).toBe("invalid_client");
    }
  });

  it("refuses another client's certificate", async () => {
    // The self-signed client's certificate is not kiosk-dn's, and kiosk-9's is not self-signed's key.
    expect((await token("kiosk-dn", selfSigned)).status).toBe(401);
    expect((await token("self-signed", kiosk)).status).toBe(401);
  });

  it("answers a malformed certificate with 401, never 500", async () => {
    for (const rfc9440 of [":AAAA:", ":not base64!:", "", ":MIIB:", `:${btoa("x".repeat(300))}:`]) {
      expect((await token("kiosk-dn", kiosk, { rfc9440 })).status).toBe(401);
    }
  });

  it("needs a certificate, not a secret or an assertion", async () => {
    const response = await postFormWithCertificate(
      "/token",
      { ...cc("kiosk-dn"), client_secret: "whatever-secret-0123456789" },
      kiosk,
    );
    expect(response.status).toBe(401);
  });
});

describe("self_signed_tls_client_auth (RFC 8705 §2.2)", () => {
  it("accepts a certificate whose key is registered, verified by a CA or not", async () => {
    expect((await token("self-signed", selfSigned, { verified: false })).status).toBe(200);
    expect((await token("self-signed", selfSigned, { verified: true })).status).toBe(200);
  });
});

describe("certificate-bound tokens (RFC 8705 §3)", () => {
  it("binds access tokens with cnf x5t#S256, the SHA-256 of the certificate", async () => {
    const { body } = await token("kiosk-dn", kiosk);
    expect(decodeJwt(body.access_token).cnf).toEqual({ "x5t#S256": await thumbprint(kiosk) });
  });

  it("runs a whole CIBA flow with mTLS, and /userinfo needs the same certificate", async () => {
    const started = await jsonOf<{ auth_req_id: string }>(
      await postFormWithCertificate(
        "/bc-authorize",
        { client_id: "kiosk-dn", scope: "openid profile offline_access", login_hint: "lena" },
        kiosk,
      ),
    );
    expect(started.status).toBe(200);
    const { internalId } = await requestFor(started.body.auth_req_id);
    await new BackchannelAuthenticationInteractionService(env).completeLoginRequest(
      { internalId, scopesValuesConsented: ["profile", "offline_access"] },
      { subject: lena },
    );
    const tokens = await jsonOf<Record<string, string>>(
      await postFormWithCertificate(
        "/token",
        { grant_type: CIBA_GRANT, auth_req_id: started.body.auth_req_id, client_id: "kiosk-dn" },
        kiosk,
      ),
    );
    expect(tokens.status).toBe(200);
    expect(decodeJwt(tokens.body.access_token ?? "").cnf).toEqual({ "x5t#S256": await thumbprint(kiosk) });

    const userinfo = (certificate?: typeof kiosk) =>
      callWithCertificate(
        "/userinfo",
        { headers: { authorization: `Bearer ${tokens.body.access_token}` } },
        certificate,
      );
    expect((await userinfo(kiosk)).status).toBe(200);
    for (const wrong of [undefined, other]) {
      const response = await userinfo(wrong);
      expect(response.status).toBe(401);
      expect(((await response.json()) as OAuthErrorBody).error).toBe("invalid_token");
    }

    // The refresh token is bound too: refreshing works with the certificate, not without it.
    const refreshed = await postFormWithCertificate(
      "/token",
      { grant_type: "refresh_token", refresh_token: tokens.body.refresh_token ?? "", client_id: "kiosk-dn" },
      kiosk,
    );
    expect(refreshed.status).toBe(200);
    const withoutCertificate = await postFormWithCertificate("/token", {
      grant_type: "refresh_token",
      refresh_token: ((await refreshed.json()) as Record<string, string>).refresh_token ?? "",
      client_id: "kiosk-dn",
    });
    expect(withoutCertificate.status).toBe(401);
  });

  it("refuses to refresh a bound family with another certificate, without using the token up", async () => {
    const registration = await registerClient({
      client_id: "kiosk-rebound",
      client_secret: undefined,
      token_endpoint_auth_method: "tls_client_auth",
      tls_client_auth_san_dns: "kiosk-9.example",
      grant_types: [CIBA_GRANT, "refresh_token"],
      backchannel_token_delivery_mode: "poll",
      scope: "openid offline_access",
    });
    // A family started over a connection with the `other` certificate…
    const grant = { clientId: "kiosk-rebound", subject: lena, scopes: ["openid", "offline_access"] };
    const started = await issueUserTokens(
      testContext(),
      { ...registration, certificateThumbprint: await thumbprint(other) },
      { ...grant, resources: [], authTime: Math.floor(Date.now() / 1000), amr: ["hwk"] },
    );
    const refreshToken = started.refresh_token ?? "";
    // …is refreshed by the same client authenticating with the kiosk certificate.
    const refused = await jsonOf<OAuthErrorBody>(
      await postFormWithCertificate(
        "/token",
        { grant_type: "refresh_token", refresh_token: refreshToken, client_id: "kiosk-rebound" },
        kiosk,
      ),
    );
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: "invalid_grant" });
    expect(refused.body.error_description).toMatch(/another client certificate/);
    const family = env.REFRESH_TOKENS.get(env.REFRESH_TOKENS.idFromName(`rt:${refreshToken.split(".")[0]}`));
    const { runInDurableObject } = await import("cloudflare:test");
    const state = await runInDurableObject(family, (_, s) => ({
      current: s.storage.sql.exec<{ h: string }>("SELECT current_hash AS h FROM family").one().h,
      rotated: s.storage.sql.exec("SELECT 1 FROM rotated_token").toArray().length,
    }));
    expect(state).toEqual({ current: await sha256Hex(refreshToken), rotated: 0 });
  });

  it("binds pushed tokens to the certificate that authenticated the request (push mode)", async () => {
    await registerClient({
      client_id: "kiosk-push",
      client_secret: undefined,
      token_endpoint_auth_method: "tls_client_auth",
      tls_client_auth_subject_dn: "CN=kiosk-9,O=Example Bank,C=GB",
      grant_types: [CIBA_GRANT, "refresh_token"],
      backchannel_token_delivery_mode: "push",
      backchannel_client_notification_endpoint: "https://kiosk.example/ciba",
      scope: "openid offline_access",
    });
    const started = await jsonOf<{ auth_req_id: string }>(
      await postFormWithCertificate(
        "/bc-authorize",
        {
          client_id: "kiosk-push",
          scope: "openid offline_access",
          login_hint: "lena",
          client_notification_token: "nt-1",
        },
        kiosk,
      ),
    );
    expect(started.status).toBe(200);
    const request = await requestFor(started.body.auth_req_id);
    expect(request.certificateThumbprint).toBe(await thumbprint(kiosk));
    // What the request's alarm mints after approval, without any connection from the client:
    const approved = { ...request, authorizedScopes: ["openid", "offline_access"], authTime: request.creationTime };
    const pushed = await mintPushTokens(env, loadSettings(env), approved, started.body.auth_req_id);
    if (!("access_token" in pushed)) throw new Error(`nothing to push: ${JSON.stringify(pushed)}`);
    expect(decodeJwt(pushed.access_token).cnf).toEqual({ "x5t#S256": await thumbprint(kiosk) });
    const refresh = (certificate?: typeof kiosk) =>
      postFormWithCertificate(
        "/token",
        { grant_type: "refresh_token", refresh_token: pushed.refresh_token ?? "", client_id: "kiosk-push" },
        certificate,
      );
    expect((await refresh(kiosk)).status).toBe(200);
  });

  it("leaves tokens of clients that use no certificate unbound", async () => {
    await registerClient({
      client_id: "plain",
      client_secret: "plain-secret-0123456789",
      token_endpoint_auth_method: "client_secret_post",
      scope: "api:read",
    });
    const response = await postFormWithCertificate(
      "/token",
      { grant_type: "client_credentials", client_id: "plain", client_secret: "plain-secret-0123456789" },
      kiosk,
    );
    const body = (await response.json()) as { access_token: string };
    expect(decodeJwt(body.access_token)).not.toHaveProperty("cnf");
  });
});

describe("discovery", () => {
  it("lists both methods, bound tokens, and the mTLS endpoint aliases", async () => {
    const { body } = await jsonOf(await call("/.well-known/openid-configuration"));
    expect(body.token_endpoint_auth_methods_supported).toEqual(
      expect.arrayContaining(["tls_client_auth", "self_signed_tls_client_auth"]),
    );
    expect(body.tls_client_certificate_bound_access_tokens).toBe(true);
    expect(body.mtls_endpoint_aliases).toEqual({
      token_endpoint: `${ISSUER}/token`,
      pushed_authorization_request_endpoint: `${ISSUER}/par`,
      backchannel_authentication_endpoint: `${ISSUER}/bc-authorize`,
      userinfo_endpoint: `${ISSUER}/userinfo`,
      introspection_endpoint: `${ISSUER}/introspect`,
      revocation_endpoint: `${ISSUER}/revoke`,
    });
  });
});

describe("registration", () => {
  const base = {
    client_name: "x",
    grant_types: ["client_credentials"],
    redirect_uris: [],
    scope: "openid",
    backchannel_user_code_parameter: false,
    require_pushed_authorization_requests: false,
  };
  const scopes = ["openid"];

  it("requires exactly one certificate identity for tls_client_auth", () => {
    expect(() =>
      validateClientRegistration({ ...base, client_id: "a", token_endpoint_auth_method: "tls_client_auth" }, scopes),
    ).toThrow(/exactly one/);
    expect(() =>
      validateClientRegistration(
        {
          ...base,
          client_id: "a",
          token_endpoint_auth_method: "tls_client_auth",
          tls_client_auth_subject_dn: "CN=a",
          tls_client_auth_san_dns: "a.example",
        },
        scopes,
      ),
    ).toThrow(/exactly one/);
  });

  it("requires keys for self_signed_tls_client_auth, and no secret for either", () => {
    expect(() =>
      validateClientRegistration(
        { ...base, client_id: "b", token_endpoint_auth_method: "self_signed_tls_client_auth" },
        scopes,
      ),
    ).toThrow(/jwks/);
    expect(() =>
      validateClientRegistration(
        {
          ...base,
          client_id: "c",
          token_endpoint_auth_method: "tls_client_auth",
          tls_client_auth_subject_dn: "CN=c",
          client_secret: "s".repeat(20),
        },
        scopes,
      ),
    ).toThrow(/no secret/);
  });

  it("lets FAPI-CIBA clients use mTLS, with keys registered to sign their requests", () => {
    const fapi = {
      ...base,
      client_id: "fapi",
      grant_types: [CIBA_GRANT],
      backchannel_token_delivery_mode: "poll" as const,
      token_endpoint_auth_method: "tls_client_auth" as const,
      tls_client_auth_subject_dn: "CN=fapi",
      fapi_ciba: true,
    };
    const jwks = { keys: [selfSigned.publicJwk as { kty: string }] };
    expect(() => validateClientRegistration({ ...fapi, jwks }, scopes)).not.toThrow();
    expect(() => validateClientRegistration(fapi, scopes)).toThrow(/register jwks or jwks_uri/);
  });
});

describe("reading certificates", () => {
  it("reads the subject DN (RFC 4514) and every subjectAltName", async () => {
    const der = Uint8Array.from(atob(kiosk.der), (c) => c.charCodeAt(0));
    const parsed = await parseCertificate(der);
    expect(parsed.subjectDn).toBe("CN=kiosk-9,O=Example Bank,C=GB");
    expect(parsed.issuerDn).toBe("CN=edge-op test CA");
    expect(parsed.subjectAltNames).toEqual({
      dns: ["kiosk-9.example"],
      uri: ["https://kiosk.example/9"],
      ip: ["192.0.2.9"],
      email: ["kiosk9@example.com"],
    });
    expect(parsed.x5tS256).toBe(await thumbprint(kiosk));
  });

  it("refuses truncated or trailing bytes", async () => {
    const der = Uint8Array.from(atob(kiosk.der), (c) => c.charCodeAt(0));
    await expect(parseCertificate(der.subarray(0, 100))).rejects.toThrow(CertificateParseError);
    await expect(parseCertificate(new Uint8Array([...der, 0]))).rejects.toThrow(CertificateParseError);
  });
});
