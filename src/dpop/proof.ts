/**
 * Checking a DPoP proof, RFC 9449 §4.3, one named step per clause. The result is the JWK
 * thumbprint (`jkt`, RFC 7638) of the key the proof was made with: the token endpoint binds
 * tokens to it (`cnf.jkt`), a protected resource compares it with the token's binding.
 * Every refusal is an InvalidDpopProof or UseDpopNonce (./errors.ts), never a jose error.
 */
import {
  calculateJwkThumbprint,
  decodeProtectedHeader,
  errors,
  importJWK,
  type JWK,
  type JWTPayload,
  jwtVerify,
  type ProtectedHeaderParameters,
} from "jose";
import { sha256Base64url } from "../crypto/hash";
import { InvalidDpopProof, UseDpopNonce } from "./errors";
import { htuMatches } from "./htu";
import type { DpopPolicy } from "./policy";

/** The request a proof came with. */
export interface DpopRequest {
  /** The HTTP method, as received. */
  method: string;
  /** The endpoint's URL as published (issuer + path), see ./htu.ts. */
  url: string;
  /** At a protected resource: the access token the proof accompanies (§4.3 (12), `ath`). */
  accessToken?: string;
}

export interface VerifiedDpopProof {
  /** RFC 7638 SHA-256 thumbprint of the proof's key, as in `cnf.jkt` (RFC 9449 §6.1). */
  jkt: string;
  jti: string;
  iat: number;
  /** RFC 9449 §8.2: a fresher nonce to send in `DPoP-Nonce` with the successful response. */
  nextNonce?: string;
}

/** Bounds against oversized input (RFC 9449 §11.1 asks to refuse "unnecessarily large" jti). */
const MAX_PROOF_LENGTH = 8192;
const MAX_JTI_LENGTH = 256;
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** RFC 7517 §9.2 and RFC 7518 §6: members that only a private (or symmetric) key has. */
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] as const;

/**
 * RFC 9449 §4.3 (1): the proof in the request's `DPoP` header, or undefined without one. The
 * Fetch API joins repeated headers with ", ", and a compact JWT has neither comma nor space,
 * so a value with either is more than one header (or none well-formed).
 */
export function dpopProofOf(headers: Headers, policy: Pick<DpopPolicy, "site" | "algorithms">): string | undefined {
  const value = headers.get("DPoP");
  if (value === null) return undefined;
  if (/[,\s]/.test(value.trim())) {
    throw new InvalidDpopProof("send exactly one DPoP header", policy.site, policy.algorithms);
  }
  return value.trim();
}

/** RFC 9449 §4.3: checks `proof` against the request and returns the key's thumbprint. */
export async function verifyDpopProof(
  proof: string,
  request: DpopRequest,
  policy: DpopPolicy,
): Promise<VerifiedDpopProof> {
  const invalid = (description: string) => new InvalidDpopProof(description, policy.site, policy.algorithms);
  const now = policy.now?.() ?? Math.floor(Date.now() / 1000);

  const header = wellFormedHeader(proof, invalid);
  checkType(header, invalid);
  const alg = checkAlgorithm(header, policy, invalid);
  const jwk = publicKeyOf(header, invalid);
  const payload = await verifySignature(proof, jwk, alg, now, invalid);
  const claims = requiredClaims(payload, invalid);
  if (claims.htm !== request.method) throw invalid(`DPoP proof htm does not match the request method`);
  if (!htuMatches(claims.htu, request.url)) throw invalid("DPoP proof htu does not match the endpoint URL");
  if (request.accessToken !== undefined && payload.ath !== (await sha256Base64url(request.accessToken))) {
    throw invalid("DPoP proof ath does not match the access token");
  }
  const jkt = await calculateJwkThumbprint(jwk, "sha256");
  const { until, nextNonce } = await checkFreshness(payload, claims.iat, now, policy, invalid);
  if (!(await policy.replay.useOnce(jkt, claims.jti, until))) throw invalid("DPoP proof jti was used before");
  const verified: VerifiedDpopProof = { jkt, jti: claims.jti, iat: claims.iat };
  if (nextNonce !== undefined) verified.nextNonce = nextNonce;
  return verified;
}

type Invalid = (description: string) => InvalidDpopProof;

/** §4.3 (2): a single well-formed JWT (a compact JWS whose header is a JSON object). */
function wellFormedHeader(proof: string, invalid: Invalid): ProtectedHeaderParameters {
  if (proof.length > MAX_PROOF_LENGTH || !COMPACT_JWS.test(proof)) throw invalid("DPoP proof is not a well-formed JWT");
  try {
    return decodeProtectedHeader(proof);
  } catch {
    throw invalid("DPoP proof is not a well-formed JWT");
  }
}

/** §4.3 (4): `typ` is dpop+jwt (RFC 7515 §4.1.9: "application/" may be omitted, any case). */
function checkType(header: ProtectedHeaderParameters, invalid: Invalid): void {
  const typ = typeof header.typ === "string" ? header.typ.toLowerCase().replace(/^application\//, "") : undefined;
  if (typ !== "dpop+jwt") throw invalid("DPoP proof typ must be dpop+jwt");
}

/** §4.3 (5): an asymmetric `alg` this server accepts (never none, never a MAC). */
function checkAlgorithm(header: ProtectedHeaderParameters, policy: DpopPolicy, invalid: Invalid): string {
  const { alg } = header;
  if (typeof alg !== "string" || !policy.algorithms.includes(alg)) {
    throw invalid(`DPoP proof alg must be one of ${policy.algorithms.join(", ")}`);
  }
  return alg;
}

/** §4.3 (7): the `jwk` header is a public key (checked before it is used, see (6)). */
function publicKeyOf(header: ProtectedHeaderParameters, invalid: Invalid): JWK {
  const { jwk } = header;
  if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk)) throw invalid("DPoP proof needs a jwk header");
  if (!["EC", "RSA", "OKP"].includes(String(jwk.kty))) throw invalid("DPoP proof jwk must be an EC, RSA or OKP key");
  if (PRIVATE_MEMBERS.some((member) => member in jwk)) throw invalid("DPoP proof jwk must not contain a private key");
  return jwk;
}

/** §4.3 (6): the signature verifies with the `jwk` of the header, for the header's `alg`. */
async function verifySignature(proof: string, jwk: JWK, alg: string, now: number, invalid: Invalid) {
  let key: Awaited<ReturnType<typeof importJWK>>;
  try {
    key = await importJWK(jwk, alg);
  } catch {
    throw invalid(`DPoP proof jwk is not a usable ${alg} public key`);
  }
  try {
    // jose checks exp and nbf if a proof carries them; iat is judged below, against our policy.
    return (await jwtVerify(proof, key, { algorithms: [alg], currentDate: new Date(now * 1000) })).payload;
  } catch (error) {
    if (error instanceof errors.JWSSignatureVerificationFailed) throw invalid("DPoP proof signature does not verify");
    throw invalid(`DPoP proof is not acceptable: ${error instanceof Error ? error.message : "invalid JWT"}`);
  }
}

/** §4.3 (3) with §4.2: jti, htm, htu and iat are present and of the right type. */
function requiredClaims(payload: JWTPayload, invalid: Invalid): { jti: string; htm: string; htu: string; iat: number } {
  const { jti, htm, htu, iat } = payload;
  if (typeof jti !== "string" || jti.length === 0 || jti.length > MAX_JTI_LENGTH) {
    throw invalid(`DPoP proof needs a jti of 1 to ${MAX_JTI_LENGTH} characters`);
  }
  if (typeof htm !== "string" || typeof htu !== "string") throw invalid("DPoP proof needs htm and htu strings");
  if (typeof iat !== "number" || !Number.isFinite(iat)) throw invalid("DPoP proof needs an iat number");
  return { jti, htm, htu, iat };
}

/**
 * §4.3 (10) and (11), §8, §11.1: the proof is recent, by a nonce this server provided when it
 * carries one (the server's own clock then dates it, whatever the client's clock says), else
 * by its `iat`. Returns until when the proof could be accepted (how long its jti is kept) and,
 * when nonces are in use and the client's is not the current one, the nonce to send next.
 */
async function checkFreshness(payload: JWTPayload, iat: number, now: number, policy: DpopPolicy, invalid: Invalid) {
  const { nonces, site, algorithms } = policy;
  if (payload.nonce !== undefined) {
    if (typeof payload.nonce !== "string") throw invalid("DPoP proof nonce must be a string");
    if (!nonces) throw invalid("this server did not provide a DPoP nonce");
    const check = await nonces.check(payload.nonce);
    if (!check.valid) throw new UseDpopNonce("the DPoP nonce is not valid", await nonces.current(), site, algorithms);
    return { until: check.acceptableUntil, nextNonce: check.current ? undefined : await nonces.current() };
  }
  if (policy.requireNonce) {
    // A deployment that requires nonces but has no source of them is misconfigured: say so
    // (a 500 and a log line) rather than quietly accept proofs without one.
    if (!nonces) throw new RangeError("DPoP requireNonce is set but no nonce source was given");
    throw new UseDpopNonce("a DPoP nonce is required", await nonces.current(), site, algorithms);
  }
  const { clockTolerance, maxAge } = policy;
  if (iat > now + clockTolerance || iat < now - maxAge - clockTolerance) {
    // A client whose clock is off can still succeed with a nonce: offer one if we have them.
    if (nonces) throw new UseDpopNonce("the DPoP proof iat is not recent", await nonces.current(), site, algorithms);
    throw invalid(`DPoP proof iat must be within ${maxAge} seconds of the server's time`);
  }
  return { until: iat + maxAge + clockTolerance, nextNonce: undefined };
}
