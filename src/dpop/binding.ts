/**
 * What binds to a DPoP key, and the checks that the binding holds (RFC 9449):
 *  - an access token (`cnf.jkt`, §6.1), sent as `Authorization: DPoP <token>` (§7.1);
 *  - an authorization code, through `dpop_jkt` at /authorize or /par, or the `DPoP` header at
 *    /par (§10, §10.1);
 *  - a public client's refresh token (§5), which edge-op records as a jkt on the family.
 * The proof itself is checked by ./proof.ts; these functions only compare thumbprints.
 */
import { InvalidGrant, InvalidRequest } from "../errors";
import { AccessTokenRequired, InvalidDpopBoundToken } from "./errors";

export type AccessTokenScheme = "Bearer" | "DPoP";

export interface PresentedAccessToken {
  scheme: AccessTokenScheme;
  token: string;
}

/**
 * RFC 6750 §2.1 and RFC 9449 §7.1: the access token in `Authorization: Bearer <token>` or
 * `Authorization: DPoP <token>` (token68; scheme names are case-insensitive, RFC 9110 §11.1).
 * No header at all gets both challenges (AccessTokenRequired); anything else malformed is
 * invalid_request (RFC 6750 §3.1).
 */
export function accessTokenOf(header: string | null | undefined, algs: readonly string[]): PresentedAccessToken {
  if (header === undefined || header === null) throw new AccessTokenRequired(algs);
  const match = /^(Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*)$/i.exec(header.trim());
  if (!match?.[1] || !match[2]) {
    throw new InvalidRequest("the Authorization header must be Bearer <access token> or DPoP <access token>");
  }
  return { scheme: match[1].toLowerCase() === "dpop" ? "DPoP" : "Bearer", token: match[2] };
}

/** RFC 9449 §6.1: the `jkt` of a token's `cnf` claim, if it has one. */
export function boundJktOf(cnf: unknown): string | undefined {
  if (typeof cnf !== "object" || cnf === null) return undefined;
  const jkt = (cnf as { jkt?: unknown }).jkt;
  return typeof jkt === "string" ? jkt : undefined;
}

/**
 * RFC 9449 §7.1 and §7.2 at a protected resource, after the token and (with the DPoP scheme)
 * the proof were verified: `proofJkt` is the proof's thumbprint, undefined when the token came
 * as a Bearer token. Refused with 401 `DPoP error="invalid_token"`:
 *  - a DPoP-bound token without a proof, e.g. sent as Bearer (§7.2: "MUST reject a DPoP-bound
 *    access token received as a bearer token"), which would otherwise be a downgrade;
 *  - a proof made with another key than the token's (§7.1, "Invalid DPoP key binding");
 *  - a proof with a token that is not bound to any key: the proof proves nothing about it, and
 *    the client believes its token is protected when it is not.
 */
export function dpopBoundTokenCheck(tokenCnf: unknown, proofJkt: string | undefined, algs: readonly string[]): void {
  const bound = boundJktOf(tokenCnf);
  if (bound === undefined) {
    if (proofJkt !== undefined) {
      throw new InvalidDpopBoundToken("the access token is not DPoP-bound; send it as a Bearer token", algs);
    }
    return;
  }
  if (proofJkt === undefined) {
    throw new InvalidDpopBoundToken("the access token is DPoP-bound: send it as DPoP with a DPoP proof", algs);
  }
  if (proofJkt !== bound) throw new InvalidDpopBoundToken("Invalid DPoP key binding", algs);
}

/** RFC 9449 §6.1: the confirmation member a DPoP-bound token carries, `cnf: {jkt}`. */
export function dpopConfirmation(jkt: string): { jkt: string } {
  return { jkt };
}

/** RFC 9449 §5: `token_type` of a token response: DPoP when the access token is bound. */
export function tokenTypeFor(jkt: string | undefined): AccessTokenScheme {
  return jkt === undefined ? "Bearer" : "DPoP";
}

/** A SHA-256 JWK thumbprint: 32 bytes, 43 base64url characters. */
const THUMBPRINT = /^[A-Za-z0-9_-]{43}$/;

/** RFC 9449 §10: the `dpop_jkt` authorization request parameter, if sent, checked for syntax. */
export function parseDpopJkt(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!THUMBPRINT.test(value)) throw new InvalidRequest("dpop_jkt must be a base64url SHA-256 JWK thumbprint");
  return value;
}

/**
 * RFC 9449 §10.1 at /par: the key the code will be bound to. A `DPoP` header counts as if its
 * thumbprint had been sent as `dpop_jkt`; with both, they "MUST" match (invalid_request, as
 * node-oidc-provider answers). Undefined: the code is not bound.
 */
export function pushedRequestJkt(dpopJkt: string | undefined, proofJkt: string | undefined): string | undefined {
  if (dpopJkt !== undefined && proofJkt !== undefined && dpopJkt !== proofJkt) {
    throw new InvalidRequest("the DPoP proof's key does not match dpop_jkt");
  }
  return dpopJkt ?? proofJkt;
}

/**
 * RFC 9449 §10 at the token endpoint (authorization_code grant) and §5 (a public client's
 * refresh token): a code or refresh token bound to a key is redeemed only with a proof made
 * with that key; invalid_grant otherwise.
 */
export function grantBindingCheck(boundJkt: string | undefined, proofJkt: string | undefined): void {
  if (boundJkt === undefined) return;
  if (proofJkt === undefined) throw new InvalidGrant("this grant is bound to a DPoP key: send a DPoP proof");
  if (proofJkt !== boundJkt)
    throw new InvalidGrant("the DPoP proof's key does not match the key this grant is bound to");
}
