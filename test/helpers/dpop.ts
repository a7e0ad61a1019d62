/**
 * DPoP proofs made as a client makes them (jose: generateKeyPair, SignJWT with the protected
 * header {typ, alg, jwk}), the policy the tests check them with (the real ReplayGuard object
 * behind the jti fence), and a small Hono app that puts the verifier behind /token and /userinfo
 * with edge-op's own error boundary, for clients such as openid-client to talk to.
 */
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { expect } from "vitest";
import { accessTokenOf, dpopBoundTokenCheck } from "../../src/dpop/binding";
import { DPOP_NONCE_HEADER } from "../../src/dpop/errors";
import type { DpopPolicy } from "../../src/dpop/policy";
import { dpopProofOf, verifyDpopProof } from "../../src/dpop/proof";
import { replayGuardFence } from "../../src/dpop/replay";
import { OAuthError } from "../../src/errors";
import { renderError } from "../../src/http/boundary";

export const OP = "https://op.example";
export const TOKEN_URL = `${OP}/token`;
export const USERINFO_URL = `${OP}/userinfo`;
export const ALGS = ["ES256", "PS256", "EdDSA"] as const;

export interface DpopKey {
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  privateJwk: JWK;
}

export async function dpopKey(alg = "ES256"): Promise<DpopKey> {
  const pair = await generateKeyPair(alg, { extractable: true });
  return {
    alg,
    privateKey: pair.privateKey,
    publicJwk: await exportJWK(pair.publicKey),
    privateJwk: await exportJWK(pair.privateKey),
  };
}

export const now = () => Math.floor(Date.now() / 1000);

export interface ProofOptions {
  /** Protected header members to add or replace (undefined removes one). */
  header?: Record<string, unknown>;
  /** Claims to add or replace (undefined removes one). */
  claims?: Record<string, unknown>;
}

/** A valid proof for POST /token by `key`, unless `options` say otherwise. */
export function makeProof(key: DpopKey, options: ProofOptions = {}): Promise<string> {
  const header = defined({ typ: "dpop+jwt", alg: key.alg, jwk: key.publicJwk, ...options.header });
  const claims = defined({ jti: crypto.randomUUID(), htm: "POST", htu: TOKEN_URL, iat: now(), ...options.claims });
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key.privateKey);
}

function defined(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, value]) => value !== undefined));
}

/** The policy of the token endpoint: ES256/PS256/EdDSA, 10 s ahead, 60 s old, jtis in ReplayGuard. */
export function tokenEndpointPolicy(overrides: Partial<DpopPolicy> = {}): DpopPolicy {
  return {
    site: "authorization_server",
    algorithms: ALGS,
    clockTolerance: 10,
    maxAge: 60,
    replay: replayGuardFence(env.REPLAY_GUARD),
    ...overrides,
  };
}

/** Awaits `promise`, expects an OAuthError with `code`, and returns it. */
export async function refusal(promise: Promise<unknown>, code = "invalid_dpop_proof"): Promise<OAuthError> {
  const outcome = await promise.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(OAuthError);
  const error = outcome as OAuthError;
  expect(error.code, error.description).toBe(code);
  return error;
}

/** How an OAuthError is answered by edge-op's boundary (status, headers, body). */
export async function rendered(error: OAuthError): Promise<Response> {
  const app = new Hono();
  app.get("/", () => {
    throw error;
  });
  app.onError(renderError);
  return app.fetch(new Request(`${OP}/`));
}

/**
 * A token endpoint and a userinfo endpoint checking DPoP with the real verifier: /token answers
 * a proof with a token bound to its key; /userinfo wants that token with a proof (ath). Tokens
 * are opaque handles remembered here, since minting real ones is the grants' work.
 */
export function dpopTestServer(policy: (site: DpopPolicy["site"]) => DpopPolicy) {
  const issued = new Map<string, { jkt: string }>();
  const requests: { path: string; status: number }[] = [];
  const app = new Hono();
  app.use(async (c, next) => {
    await next();
    requests.push({ path: c.req.path, status: c.res.status });
  });
  app.post("/token", async (c) => {
    const rules = policy("authorization_server");
    const proof = dpopProofOf(c.req.raw.headers, rules);
    if (!proof) return c.json({ error: "invalid_request", error_description: "send a DPoP proof" }, 400);
    const verified = await verifyDpopProof(proof, { method: c.req.method, url: TOKEN_URL }, rules);
    const token = crypto.randomUUID();
    issued.set(token, { jkt: verified.jkt });
    if (verified.nextNonce) c.header(DPOP_NONCE_HEADER, verified.nextNonce);
    return c.json({ access_token: token, token_type: "DPoP", expires_in: 300 });
  });
  app.get("/userinfo", async (c) => {
    const rules = policy("resource_server");
    const presented = accessTokenOf(c.req.header("Authorization"), rules.algorithms);
    const proof = presented.scheme === "DPoP" ? dpopProofOf(c.req.raw.headers, rules) : undefined;
    const verified = proof
      ? await verifyDpopProof(proof, { method: c.req.method, url: USERINFO_URL, accessToken: presented.token }, rules)
      : undefined;
    const token = issued.get(presented.token);
    if (!token) return c.json({ error: "invalid_token" }, 401);
    dpopBoundTokenCheck({ jkt: token.jkt }, verified?.jkt, rules.algorithms);
    if (verified?.nextNonce) c.header(DPOP_NONCE_HEADER, verified.nextNonce);
    return c.json({ sub: "dpop-user" });
  });
  app.onError(renderError);
  return { app, requests, issued };
}
