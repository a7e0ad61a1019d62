/**
 * What an endpoint asks of a DPoP proof (RFC 9449), gathered in one value so the token
 * endpoint, /par and the protected resources check proofs the same way and differ only where
 * the RFC says they do (`site`, and `ath` at resources).
 */
import type { DpopSite } from "./errors";
import type { DpopNonceSource } from "./nonce";
import type { DpopReplayFence } from "./replay";

export interface DpopPolicy {
  /** Authorization server (400 JSON errors) or resource server (401 challenges), see ./errors.ts. */
  site: DpopSite;
  /** `dpop_signing_alg_values_supported` (RFC 9449 §5.1), asymmetric only: see below. */
  algorithms: readonly string[];
  /**
   * Seconds a proof's `iat` may lie ahead of this server's clock, and its age may exceed
   * `maxAge`: JWT_CLOCK_TOLERANCE (10 to 60, FAPI 2.0 §5.3.2.1), as for every JWT a client sends.
   */
  clockTolerance: number;
  /** RFC 9449 §11.1: how old (by `iat`) a proof may be, "on the order of seconds or minutes". */
  maxAge: number;
  /** RFC 9449 §11.1: where each proof's `jti` is used up. */
  replay: DpopReplayFence;
  /** RFC 9449 §8: this server's nonces; without it a proof carrying a `nonce` is refused. */
  nonces?: DpopNonceSource;
  /** RFC 9449 §8: refuse proofs without a current nonce (`use_dpop_nonce`). Needs `nonces`. */
  requireNonce?: boolean;
  /** Epoch seconds; only tests pass another clock. */
  now?: () => number;
}

/**
 * JWS algorithms that are asymmetric signatures (RFC 7518 §3.1, RFC 8037, RFC 9864). RFC 9449
 * §4.2: a proof's `alg` "MUST NOT be none or an identifier for a symmetric algorithm (MAC)":
 * with a MAC, the `jwk` would have to carry the secret.
 */
const ASYMMETRIC_ALGORITHMS = new Set([
  "ES256",
  "ES384",
  "ES512",
  "PS256",
  "PS384",
  "PS512",
  "RS256",
  "RS384",
  "RS512",
  "EdDSA",
  "Ed25519",
]);

/**
 * RFC 9449 §4.3 (5) and §5.1: the configured `dpop_signing_alg_values_supported`, checked once
 * when the provider is built: a list with `none`, an HMAC or an unknown name is a configuration
 * error (RangeError), never a silently weaker policy.
 */
export function dpopSigningAlgorithms(values: readonly string[]): readonly string[] {
  if (values.length === 0) throw new RangeError("at least one DPoP signing algorithm is needed");
  for (const alg of values) {
    if (!ASYMMETRIC_ALGORITHMS.has(alg)) {
      throw new RangeError(
        `${alg} is not an asymmetric JWS algorithm (one of ${[...ASYMMETRIC_ALGORITHMS].join(", ")})`,
      );
    }
  }
  return [...new Set(values)];
}
