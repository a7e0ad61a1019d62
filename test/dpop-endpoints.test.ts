/**
 * DPoP (RFC 9449) wired into the provider: every grant at /token binds its access token to the
 * proof's key (§5, §6.1), /userinfo and the authenticator API take `Authorization: DPoP` (§7),
 * and the refusals of §4.3, §5.2, §7.1, §7.2 and §8. openid-client's own DPoP support
 * (getDPoPHandle) is the client where it can be.
 */

import { env } from "cloudflare:workers";
import { calculateJwkThumbprint, decodeJwt, exportJWK, generateKeyPair, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { pkce, walk } from "./helpers/authorize";
import { Browser } from "./helpers/browser";
import { registerClient, registerUser } from "./helpers/fixtures";
import { basic, call, ISSUER, jsonOf, type OAuthErrorBody, postForm } from "./helpers/http";
import { BackchannelAuthenticationInteractionService } from "./helpers/provider";
import { client, discoverAs } from "./helpers/rp";

const SECRET = "dpop-client-secret-0123456789";
const CALLBACK = "https://app.example/cb";
let ana = "";
const ANA = { username: "ana-dpop", password: "ana-dpop-password" };

beforeAll(async () => {
  await registerClient({ client_id: "dpop-cc", client_secret: SECRET, scope: "api:read" });
  await registerClient({
    client_id: "dpop-always",
    client_secret: SECRET,
    scope: "api:read",
    dpop_bound_access_tokens: true,
  });
  await registerClient({
    client_id: "dpop-web",
    client_secret: SECRET,
    grant_types: ["authorization_code", "refresh_token"],
    redirect_uris: [CALLBACK],
    scope: "openid email offline_access",
  });
  await registerClient({
    client_id: "dpop-pos",
    client_name: "DPoP till",
    client_secret: SECRET,
    grant_types: ["urn:openid:params:grant-type:ciba", "refresh_token"],
    backchannel_token_delivery_mode: "poll",
    ciba_polling_interval: 1,
    scope: "openid email",
  });
  ana = await registerUser({ ...ANA, email: "ana@example.com" });
});

const rp = (clientId: string) => discoverAs(clientId, SECRET, client.ClientSecretBasic(SECRET));

async function keyPair(alg = "ES256") {
  return generateKeyPair(alg, { extractable: true });
}

async function jktOf(pair: CryptoKeyPair): Promise<string> {
  return calculateJwkThumbprint(await exportJWK(pair.publicKey), "sha256");
}

/** A proof made by hand, for the refusals openid-client would never send. */
async function proof(pair: CryptoKeyPair, claims: Record<string, unknown>, alg = "ES256"): Promise<string> {
  return new SignJWT({ jti: crypto.randomUUID(), htm: "POST", htu: `${ISSUER}/token`, iat: now(), ...claims })
    .setProtectedHeader({ typ: "dpop+jwt", alg, jwk: await exportJWK(pair.publicKey) })
    .sign(pair.privateKey);
}

const now = () => Math.floor(Date.now() / 1000);

async function athOf(token: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
  return btoa(String.fromCharCode(...new Uint8Array(digest)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

describe("RFC 9449 §5: every grant at /token binds the access token to the proof's key", () => {
  it("client_credentials with openid-client's getDPoPHandle: token_type DPoP and cnf.jkt", async () => {
    const config = await rp("dpop-cc");
    const pair = await keyPair();
    const tokens = await client.clientCredentialsGrant(
      config,
      { scope: "api:read" },
      { DPoP: client.getDPoPHandle(config, pair) },
    );
    expect(tokens.token_type.toLowerCase()).toBe("dpop");
    expect(decodeJwt(tokens.access_token).cnf).toEqual({ jkt: await jktOf(pair) });
  });

  it("PAR → code → tokens → userinfo with DPoP (openid-client), and refresh with DPoP", async () => {
    const config = await rp("dpop-web");
    const pair = await keyPair();
    const DPoP = client.getDPoPHandle(config, pair);
    const { verifier, challenge } = await pkce();
    const state = client.randomState();
    const url = await client.buildAuthorizationUrlWithPAR(
      config,
      {
        redirect_uri: CALLBACK,
        scope: "openid email offline_access",
        code_challenge: challenge,
        code_challenge_method: "S256",
        state,
      },
      { DPoP },
    );
    const response = await walk(new Browser(), url, ANA);
    const callback = new URL(response.headers.get("location") ?? "");
    const tokens = await client.authorizationCodeGrant(
      config,
      callback,
      { pkceCodeVerifier: verifier, expectedState: state },
      undefined,
      { DPoP },
    );
    expect(tokens.token_type.toLowerCase()).toBe("dpop");
    expect(decodeJwt(tokens.access_token).cnf).toEqual({ jkt: await jktOf(pair) });

    const userinfo = await client.fetchUserInfo(config, tokens.access_token, ana, { DPoP });
    expect(userinfo).toMatchObject({ sub: ana, email: "ana@example.com" });

    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token ?? "", undefined, { DPoP });
    expect(refreshed.token_type.toLowerCase()).toBe("dpop");
    expect(decodeJwt(refreshed.access_token).cnf).toEqual({ jkt: await jktOf(pair) });
  });

  it("CIBA poll → tokens with DPoP (openid-client)", async () => {
    const config = await rp("dpop-pos");
    const pair = await keyPair();
    const DPoP = client.getDPoPHandle(config, pair);
    const started = await client.initiateBackchannelAuthentication(config, {
      scope: "openid email",
      login_hint: ANA.username,
    });
    const interaction = new BackchannelAuthenticationInteractionService(env);
    const [pending] = await interaction.getPendingLoginRequestsForCurrentUser({ subject: ana });
    await interaction.completeLoginRequest(
      { internalId: pending?.internalId ?? "", scopesValuesConsented: ["openid", "email"] },
      { subject: ana, sessionId: "sess-dpop", authTime: now(), amr: ["pwd"] },
    );
    const tokens = await client.pollBackchannelAuthenticationGrant(config, started, undefined, { DPoP });
    expect(tokens.token_type.toLowerCase()).toBe("dpop");
    expect(decodeJwt(tokens.access_token).cnf).toEqual({ jkt: await jktOf(pair) });
    expect(await client.fetchUserInfo(config, tokens.access_token, ana, { DPoP })).toMatchObject({ sub: ana });
  });

  it("without a proof the token stays a Bearer token (no cnf.jkt)", async () => {
    const { status, body } = await jsonOf<Record<string, unknown>>(
      await postForm("/token", { grant_type: "client_credentials" }, basic("dpop-cc", SECRET)),
    );
    expect(status).toBe(200);
    expect(body.token_type).toBe("Bearer");
    expect(decodeJwt(String(body.access_token)).cnf).toBeUndefined();
  });
});

describe("RFC 9449 refusals at /token", () => {
  const tokenWith = async (dpop: string) =>
    jsonOf<OAuthErrorBody>(
      await postForm("/token", { grant_type: "client_credentials" }, { ...basic("dpop-cc", SECRET), DPoP: dpop }),
    );

  it("§5.2: a dpop_bound_access_tokens client without a proof gets invalid_dpop_proof", async () => {
    const { status, body } = await jsonOf<OAuthErrorBody>(
      await postForm("/token", { grant_type: "client_credentials" }, basic("dpop-always", SECRET)),
    );
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_dpop_proof");
  });

  it("§4.3 (9): a proof for another URL (htu) is refused", async () => {
    const { status, body } = await tokenWith(await proof(await keyPair(), { htu: `${ISSUER}/par` }));
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_dpop_proof");
  });

  it("§4.3 (8): a proof for another method (htm) is refused", async () => {
    const { body } = await tokenWith(await proof(await keyPair(), { htm: "GET" }));
    expect(body.error).toBe("invalid_dpop_proof");
  });

  it("§4.3 (11) and §11.1: a proof's jti is used once, across endpoints", async () => {
    const pair = await keyPair();
    const once = await proof(pair, {});
    expect((await tokenWith(once)).status).toBe(200);
    const again = await tokenWith(once);
    expect(again.status).toBe(400);
    expect(again.body.error).toBe("invalid_dpop_proof");
  });

  it("§4.3 (5): a proof signed with an algorithm not in dpop_signing_alg_values_supported is refused", async () => {
    const { body } = await tokenWith(await proof(await keyPair("ES384"), {}, "ES384"));
    expect(body.error).toBe("invalid_dpop_proof");
  });

  it("§4.3 (10), §8: with DPOP_REQUIRE_NONCE a proof without a nonce gets use_dpop_nonce and DPoP-Nonce; with it, tokens", async () => {
    const vars = { DPOP_REQUIRE_NONCE: "true" };
    const pair = await keyPair();
    const send = async (dpop: string) =>
      call(
        "/token",
        {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", ...basic("dpop-cc", SECRET), DPoP: dpop },
          body: "grant_type=client_credentials",
        },
        vars,
      );
    const first = await send(await proof(pair, {}));
    expect(first.status).toBe(400);
    expect(((await first.json()) as OAuthErrorBody).error).toBe("use_dpop_nonce");
    const nonce = first.headers.get("DPoP-Nonce") ?? "";
    expect(nonce).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const second = await send(await proof(pair, { nonce }));
    expect(second.status).toBe(200);
  });
});

describe("RFC 9449 §7 at the resource endpoints", () => {
  async function boundToken(pair: CryptoKeyPair): Promise<string> {
    const config = await rp("dpop-pos");
    const DPoP = client.getDPoPHandle(config, pair);
    const started = await client.initiateBackchannelAuthentication(config, {
      scope: "openid email",
      login_hint: ANA.username,
    });
    const interaction = new BackchannelAuthenticationInteractionService(env);
    const pending = await interaction.getPendingLoginRequestsForCurrentUser({ subject: ana });
    for (const request of pending) {
      await interaction.completeLoginRequest(
        { internalId: request.internalId, scopesValuesConsented: ["openid", "email"] },
        { subject: ana, sessionId: "sess-dpop", authTime: now(), amr: ["pwd"] },
      );
    }
    return (await client.pollBackchannelAuthenticationGrant(config, started, undefined, { DPoP })).access_token;
  }

  const userinfo = (headers: Record<string, string>) => call("/userinfo", { headers });

  it("§7.2: a DPoP-bound token sent as Bearer is refused with a DPoP invalid_token challenge", async () => {
    const token = await boundToken(await keyPair());
    const response = await userinfo({ authorization: `Bearer ${token}` });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^DPoP .*error="invalid_token"/);
  });

  it("§7.1: a proof made with another key than the token's is refused (Invalid DPoP key binding)", async () => {
    const token = await boundToken(await keyPair());
    const other = await keyPair();
    const dpop = await proof(other, { htm: "GET", htu: `${ISSUER}/userinfo`, ath: await athOf(token) });
    const response = await userinfo({ authorization: `DPoP ${token}`, DPoP: dpop });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/error="invalid_token".*Invalid DPoP key binding/);
  });

  it("§7.1: the DPoP scheme without a proof is refused with invalid_dpop_proof", async () => {
    const token = await boundToken(await keyPair());
    const response = await userinfo({ authorization: `DPoP ${token}` });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^DPoP .*error="invalid_dpop_proof"/);
  });

  it("§4.3 (12): a proof whose ath is not the token's hash is refused", async () => {
    const pair = await keyPair();
    const token = await boundToken(pair);
    const dpop = await proof(pair, { htm: "GET", htu: `${ISSUER}/userinfo`, ath: await athOf("another token") });
    const response = await userinfo({ authorization: `DPoP ${token}`, DPoP: dpop });
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/error="invalid_dpop_proof"/);
  });

  it("§7.1: no credentials at all gets both challenges, DPoP with its algs", async () => {
    const response = await userinfo({});
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(
      /^Bearer realm="edge-op", DPoP realm="edge-op", algs="ES256 PS256 EdDSA"$/,
    );
  });

  it("discovery lists dpop_signing_alg_values_supported", async () => {
    const metadata = (await (await call("/.well-known/openid-configuration")).json()) as Record<string, unknown>;
    expect(metadata.dpop_signing_alg_values_supported).toEqual(["ES256", "PS256", "EdDSA"]);
  });
});

describe("RFC 9449 §10: binding the authorization code to a DPoP key", () => {
  async function codeFor(pushedWith: { dpop?: string; dpopJkt?: string }, viaPar = true) {
    const { verifier, challenge } = await pkce();
    const params: Record<string, string> = {
      response_type: "code",
      client_id: "dpop-web",
      redirect_uri: CALLBACK,
      scope: "openid",
      code_challenge: challenge,
      code_challenge_method: "S256",
      state: client.randomState(),
    };
    if (pushedWith.dpopJkt) params.dpop_jkt = pushedWith.dpopJkt;
    let url: string;
    if (viaPar) {
      const headers: Record<string, string> = basic("dpop-web", SECRET);
      if (pushedWith.dpop) headers.DPoP = pushedWith.dpop;
      const pushed = await jsonOf<{ request_uri: string } & OAuthErrorBody>(await postForm("/par", params, headers));
      if (pushed.status !== 201) return { error: pushed.body, verifier, code: "" };
      url = `${ISSUER}/authorize?client_id=dpop-web&request_uri=${encodeURIComponent(pushed.body.request_uri)}`;
    } else {
      url = `${ISSUER}/authorize?${new URLSearchParams(params)}`;
    }
    const response = await walk(new Browser(), url, ANA);
    const code = new URL(response.headers.get("location") ?? "").searchParams.get("code") ?? "";
    return { code, verifier, error: undefined };
  }

  const exchange = async (code: string, verifier: string, dpop?: string) =>
    jsonOf<Record<string, unknown> & OAuthErrorBody>(
      await postForm(
        "/token",
        { grant_type: "authorization_code", code, redirect_uri: CALLBACK, code_verifier: verifier },
        dpop ? { ...basic("dpop-web", SECRET), DPoP: dpop } : basic("dpop-web", SECRET),
      ),
    );

  it("§10.1: a DPoP header at /par binds the code; another key, or none, cannot redeem it, the right key can", async () => {
    const pair = await keyPair();
    const { code, verifier } = await codeFor({ dpop: await proof(pair, { htu: `${ISSUER}/par` }) });
    expect(code).not.toBe("");
    const none = await exchange(code, verifier);
    expect(none.status).toBe(400);
    expect(none.body.error).toBe("invalid_grant");
    const other = await exchange(code, verifier, await proof(await keyPair(), {}));
    expect(other.body.error).toBe("invalid_grant");
    const right = await exchange(code, verifier, await proof(pair, {}));
    expect(right.status).toBe(200);
    expect(right.body.token_type).toBe("DPoP");
  });

  it("§10: dpop_jkt at /authorize binds the code to that key", async () => {
    const pair = await keyPair();
    const { code, verifier } = await codeFor({ dpopJkt: await jktOf(pair) }, false);
    expect((await exchange(code, verifier, await proof(await keyPair(), {}))).body.error).toBe("invalid_grant");
    expect((await exchange(code, verifier, await proof(pair, {}))).status).toBe(200);
  });

  it("§10.1: dpop_jkt and a DPoP header at /par naming different keys are refused", async () => {
    const { error } = await codeFor({
      dpop: await proof(await keyPair(), { htu: `${ISSUER}/par` }),
      dpopJkt: await jktOf(await keyPair()),
    });
    expect(error?.error).toBe("invalid_request");
  });

  it("§10: a malformed dpop_jkt is refused", async () => {
    const { error } = await codeFor({ dpopJkt: "not-a-thumbprint" });
    expect(error?.error).toBe("invalid_request");
  });

  it("§4.3: a proof at /par made for /token (htu) is refused", async () => {
    const { error } = await codeFor({ dpop: await proof(await keyPair(), {}) });
    expect(error?.error).toBe("invalid_dpop_proof");
  });
});
