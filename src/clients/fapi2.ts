/**
 * The FAPI 2.0 Security Profile (final) as a per-client profile: a client registered with
 * `profile: "fapi2"` is held to the rules below, each citing its clause (docs/fapi.md lists
 * them all, with what is enforced where). Registration refuses what the profile forbids
 * outright; the endpoints ask `isFapi2` where the profile changes their behaviour.
 */

/**
 * The registration fields the profile reads: a ClientRegistration has them. Declared here so
 * that this module and ./metadata.ts (which calls validateFapi2Registration) import nothing of
 * each other's.
 */
interface Fapi2Registration {
  profile?: string;
  token_endpoint_auth_method: string;
  token_endpoint_auth_signing_alg?: string;
  request_object_signing_alg?: string;
  redirect_uris: readonly string[];
  backchannel_token_delivery_mode?: string;
}

/** FAPI 2.0 §5.4.1 (cryptography): the JWS algorithms a fapi2 client may sign with. */
export const FAPI2_SIGNING_ALGS = ["PS256", "ES256", "EdDSA"] as const;

/** FAPI 2.0 §5.3.2.1 (6): client authentication by mTLS or private_key_jwt only. */
const FAPI2_AUTH_METHODS = ["private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth"];

/** FAPI 2.0 §5.3.2.2: authorization codes live at most 60 seconds. */
export const FAPI2_MAX_CODE_LIFETIME = 60;

export function isFapi2(client: { profile?: string }): boolean {
  return client.profile === "fapi2";
}

/** FAPI 2.0 §5.3.2.2: the code lifetime for this client: the setting, capped at 60 s for fapi2. */
export function codeLifetimeFor(client: { profile?: string }, configured: number): number {
  return isFapi2(client) ? Math.min(configured, FAPI2_MAX_CODE_LIFETIME) : configured;
}

/** What registration refuses for a fapi2 client; `fail` throws. */
export function validateFapi2Registration(reg: Fapi2Registration, fail: (message: string) => never): void {
  if (!isFapi2(reg)) return;
  if (!FAPI2_AUTH_METHODS.includes(reg.token_endpoint_auth_method)) {
    fail(`FAPI 2.0 §5.3.2.1: a fapi2 client authenticates with ${FAPI2_AUTH_METHODS.join(", ")}`);
  }
  const alg = reg.token_endpoint_auth_signing_alg;
  if (reg.token_endpoint_auth_method === "private_key_jwt") {
    if (!alg || !(FAPI2_SIGNING_ALGS as readonly string[]).includes(alg)) {
      fail(
        `FAPI 2.0 §5.4.1: a fapi2 client's token_endpoint_auth_signing_alg must be ${FAPI2_SIGNING_ALGS.join(", ")}`,
      );
    }
  }
  const requestAlg = reg.request_object_signing_alg;
  if (requestAlg && !(FAPI2_SIGNING_ALGS as readonly string[]).includes(requestAlg)) {
    fail(`FAPI 2.0 §5.4.1: request_object_signing_alg must be ${FAPI2_SIGNING_ALGS.join(", ")}`);
  }
  for (const uri of reg.redirect_uris) {
    const url = URL.parse(uri);
    const loopback = url !== null && ["127.0.0.1", "[::1]", "localhost"].includes(url.hostname);
    // FAPI 2.0 §5.3.3 (4) with RFC 8252 §7.3: https, or http on loopback for native apps.
    if (url === null || !(url.protocol === "https:" || (url.protocol === "http:" && loopback))) {
      fail(`FAPI 2.0 §5.3.3: redirect_uri ${uri} must be https (loopback http for native apps)`);
    }
  }
  // FAPI-CIBA keeps its own rules for CIBA clients: no push mode (FAPI-CIBA §5.2.2).
  if (reg.backchannel_token_delivery_mode === "push") {
    fail("FAPI-CIBA §5.2.2: a fapi2 CIBA client may not use push mode");
  }
}
