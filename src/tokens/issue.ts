/**
 * Issues the tokens of a user grant (CIBA, authorization code, refresh): a JWT access token,
 * an ID token when `openid` was granted, and a refresh token when `offline_access` was granted
 * and the client may use the refresh_token grant.
 */
import type { AuthenticatedClient } from "../clients/authenticate";
import { GRANT_TYPES } from "../clients/metadata";
import type { RequestContext } from "../context";
import { dpopConfirmation, tokenTypeFor } from "../dpop/binding";
import type { TokenResponse } from "../grants/token-response";
import { authorizationDetailsClaim } from "../rar/details";
import { newGrantId, type UserGrant } from "./grant";
import { mintAccessToken, mintIdToken } from "./jwt";
import { loadKeys } from "./keys";
import { issueRefreshToken } from "./refresh-tokens";
import { tokenHash } from "./token-hash";

/** CIBA §10.3.1: the ID token claim holding the hash of the refresh token pushed with it. */
export const RT_HASH_CLAIM = "urn:openid:params:jwt:claim:rt_hash";

export interface IssueOptions {
  nonce?: string;
  /** Extra ID token claims, e.g. CIBA push's `urn:openid:params:jwt:claim:auth_req_id`. */
  idTokenClaims?: Record<string, unknown>;
  /** When refreshing, the rotated refresh token to return instead of starting a new family. */
  refreshToken?: string;
  /**
   * The id of the family to start, when it was fixed beforehand (an authorization code records
   * it when it is consumed, so a reuse can revoke the family before it exists). If that family
   * was revoked meanwhile, issuing fails with invalid_grant.
   */
  refreshFamilyId?: string;
  /**
   * Bind the ID token to the tokens it travels with: `at_hash` and, when a refresh token is
   * issued, `urn:openid:params:jwt:claim:rt_hash` (CIBA §10.3.1, push mode, where the client
   * has no TLS connection to the token endpoint to vouch for them).
   */
  tokenHashes?: boolean;
  /**
   * The grant's link to its browser session is kept elsewhere, so no session_grants row is
   * written: a CIBA approval's answer in the user's object names its grant, family and sid
   * (issue 18: no D1 write on the CIBA hot path).
   */
  grantLinkKept?: boolean;
}

/**
 * The `cnf` claim of an access token for `client`: RFC 8705 §3.1 names the certificate an mTLS
 * client authenticated with (`x5t#S256`), RFC 9449 §6.1 the key of its DPoP proof (`jkt`).
 */
export function confirmationOf(client: AuthenticatedClient): Record<string, string> | undefined {
  const cnf: Record<string, string> = {};
  if (client.certificateThumbprint) cnf["x5t#S256"] = client.certificateThumbprint;
  if (client.dpopJkt) cnf.jkt = dpopConfirmation(client.dpopJkt).jkt;
  return Object.keys(cnf).length > 0 ? cnf : undefined;
}

export async function issueUserTokens(
  ctx: RequestContext,
  client: AuthenticatedClient,
  issued: UserGrant,
  options: IssueOptions = {},
): Promise<TokenResponse> {
  const keys = await loadKeys(ctx);
  const { settings } = ctx;
  const grant = { ...issued, grantId: issued.grantId ?? newGrantId() };
  const scope = grant.scopes.join(" ");
  const claims: Record<string, unknown> = { auth_time: grant.authTime, grant_id: grant.grantId };
  if (grant.acr) claims.acr = grant.acr;
  if (grant.sid) claims.sid = grant.sid;
  // RFC 9396 §9.1: the approved details travel in the access token (and §7 the response).
  const details = authorizationDetailsClaim(grant.authorizationDetails ?? []);
  Object.assign(claims, details);
  const thumbprint = client.certificateThumbprint;
  const cnf = confirmationOf(client);
  if (cnf) claims.cnf = cnf;
  // RFC 8707: the resources asked for are the audience; otherwise the token is for this issuer.
  const audience = grant.resources.length === 0 ? settings.issuer : grant.resources;
  const response: TokenResponse = {
    access_token: await mintAccessToken(keys, {
      issuer: settings.issuer,
      subject: grant.subject,
      clientId: client.client_id,
      audience,
      scope,
      lifetime: settings.accessTokenTtl,
      claims,
    }),
    token_type: tokenTypeFor(client.dpopJkt),
    expires_in: settings.accessTokenTtl,
    scope,
    ...details,
  };
  // The refresh token comes before the ID token, which may have to carry its hash.
  if (options.refreshToken) {
    response.refresh_token = options.refreshToken;
  } else if (grant.scopes.includes("offline_access") && client.grant_types.includes(GRANT_TYPES.refreshToken)) {
    response.refresh_token = await issueRefreshToken(
      ctx,
      { ...grant, certificateThumbprint: thumbprint },
      options.refreshFamilyId,
    );
  }
  // Back-Channel Logout §2.6 and sign-out: remember which grants this browser session was given
  // (sid "" for a grant given outside one, which only the account page and removals look at).
  // A refresh keeps the family (and row) it already has; a CIBA grant's link is its answer entry.
  if (!options.refreshToken && !options.grantLinkKept) {
    await ctx.stores.sessionGrants.record(
      {
        sid: grant.sid ?? "",
        subject: grant.subject,
        clientId: client.client_id,
        grantId: grant.grantId,
        familyId: response.refresh_token?.split(".")[0],
        offlineAccess: grant.scopes.includes("offline_access"),
        scopes: grant.scopes,
      },
      settings.refreshTokenTtl,
    );
  }
  if (grant.scopes.includes("openid")) {
    const hashClaims: Record<string, string> = {};
    if (options.tokenHashes) {
      hashClaims.at_hash = await tokenHash(response.access_token, keys.active.alg);
      if (response.refresh_token) hashClaims[RT_HASH_CLAIM] = await tokenHash(response.refresh_token, keys.active.alg);
    }
    response.id_token = await mintIdToken(keys, {
      issuer: settings.issuer,
      subject: grant.subject,
      clientId: client.client_id,
      lifetime: settings.idTokenTtl,
      authTime: grant.authTime,
      amr: grant.amr,
      acr: grant.acr,
      sid: grant.sid,
      nonce: options.nonce,
      claims: { ...options.idTokenClaims, ...hashClaims },
    });
  }
  return response;
}
