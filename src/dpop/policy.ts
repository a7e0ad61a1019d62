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

export { dpopSigningAlgorithms } from "./algorithms";
