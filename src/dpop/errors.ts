/**
 * The errors of DPoP (RFC 9449), as OAuthError subclasses so the one boundary renders them.
 * The same failure is answered differently by the two kinds of endpoint that check a proof:
 *  - at the authorization server (/token, /par) it is an RFC 6749 §5.2 error: 400 and a JSON
 *    body (§5 for `invalid_dpop_proof`, §8 for `use_dpop_nonce`);
 *  - at a protected resource (/userinfo, the authenticator API) it is a 401 with a
 *    `WWW-Authenticate: DPoP …` challenge that lists the accepted `algs` (§7.1, §9).
 * A server-provided nonce travels in the `DPoP-Nonce` response header either way (§8, §9).
 */
import { OAuthError } from "../errors";

/** Where a proof is checked: the two answer the same failure differently (see above). */
export type DpopSite = "authorization_server" | "resource_server";

export const DPOP_NONCE_HEADER = "DPoP-Nonce";

export interface DpopChallenge {
  error?: string;
  description?: string;
  /** RFC 9449 §7.1: the JWS algorithms accepted for proofs ("SHOULD be included"). */
  algs: readonly string[];
}

/**
 * RFC 9449 §7.1: the `DPoP` challenge of a 401 from a protected resource, e.g.
 * `DPoP realm="edge-op", error="invalid_token", error_description="…", algs="ES256 PS256"`.
 */
export function dpopChallenge(challenge: DpopChallenge): string {
  const parts = ['DPoP realm="edge-op"'];
  if (challenge.error) parts.push(`error="${headerSafe(challenge.error)}"`);
  if (challenge.description) parts.push(`error_description="${headerSafe(challenge.description)}"`);
  if (challenge.algs.length > 0) parts.push(`algs="${headerSafe(challenge.algs.join(" "))}"`);
  return parts.join(", ");
}

/**
 * RFC 9449 §4.3 and §5 (token requests), §7.1 (protected resources): the proof itself is not
 * acceptable. The description names the §4.3 check that failed; it never echoes the proof.
 */
export class InvalidDpopProof extends OAuthError {
  constructor(description: string, site: DpopSite, algs: readonly string[]) {
    super(
      "invalid_dpop_proof",
      description,
      site === "resource_server" ? 401 : 400,
      site === "resource_server"
        ? { "WWW-Authenticate": dpopChallenge({ error: "invalid_dpop_proof", description, algs }) }
        : {},
    );
  }
}

/**
 * RFC 9449 §8 (authorization server: 400) and §9 (resource server: 401 with the challenge): the
 * proof must carry a nonce this server provided; `nonce` is the one to use, sent in `DPoP-Nonce`.
 */
export class UseDpopNonce extends OAuthError {
  constructor(description: string, nonce: string, site: DpopSite, algs: readonly string[]) {
    const headers: Record<string, string> = { [DPOP_NONCE_HEADER]: nonce };
    if (site === "resource_server") {
      headers["WWW-Authenticate"] = dpopChallenge({ error: "use_dpop_nonce", description, algs });
    }
    super("use_dpop_nonce", description, site === "resource_server" ? 401 : 400, headers);
  }
}

/**
 * RFC 9449 §7.1 and §7.2: the access token cannot be used this way: a DPoP-bound token sent as a
 * Bearer token or without a proof, a proof made with another key ("Invalid DPoP key binding"), or
 * an unbound token sent with the DPoP scheme. 401 `DPoP error="invalid_token"`.
 */
export class InvalidDpopBoundToken extends OAuthError {
  constructor(description: string, algs: readonly string[]) {
    super("invalid_token", description, 401, {
      "WWW-Authenticate": dpopChallenge({ error: "invalid_token", description, algs }),
    });
  }
}

/**
 * RFC 6750 §3.1 and RFC 9449 §7.1: a request to a protected resource with no credentials at all
 * gets both challenges (RFC 9110 §11.6.1 allows several in one header) and no error code, so a
 * client learns it may use either scheme and which proof algorithms are accepted.
 */
export class AccessTokenRequired extends OAuthError {
  constructor(algs: readonly string[]) {
    super("", "", 401, { "WWW-Authenticate": `Bearer realm="edge-op", ${dpopChallenge({ algs })}` });
  }
}

/** RFC 6750 §3 / RFC 9110 §11.2: a quoted-string value: printable ASCII without `"` or `\`. */
function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]|["\\]/g, "");
}
