/**
 * The JWS algorithms a DPoP proof may use (RFC 9449 §4.2, §5.1), in a module that imports
 * nothing, so settings (src/config.ts) can check DPOP_SIGNING_ALG_VALUES without importing the
 * rest of src/dpop/ (which reads settings itself).
 */

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
