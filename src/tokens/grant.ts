/**
 * What a user granted a client: everything needed to mint its tokens now and on refresh. Kept
 * by authorization codes, backchannel requests and refresh-token families alike.
 */
import { randomHandle } from "../crypto/hash";
import { arrayOf, int, object, optional, type Parser, str } from "../parse";
import { type StoredAuthorizationDetail, storedAuthorizationDetail } from "../rar/schema";

/** What a user granted a client: everything needed to mint tokens now and on refresh. */
export interface UserGrant {
  clientId: string;
  subject: string;
  scopes: string[];
  /** RFC 8707 resource indicators; the access token's audience when present. */
  resources: string[];
  /** Epoch seconds when the user authenticated. */
  authTime: number;
  amr: string[];
  acr?: string;
  sid?: string;
  /**
   * RFC 8705 §3: the x5t#S256 of the client certificate the grant's tokens are bound to (set
   * on refresh-token families started by an mTLS client; refreshing needs the same certificate).
   */
  certificateThumbprint?: string;
  /**
   * Names the grant in its access tokens (`grant_id`) so that revoking the grant also revokes
   * them (src/tokens/revoked-grants.ts). Set when the grant is first issued; kept by its
   * refresh-token family.
   */
  grantId?: string;
  /**
   * RFC 9396: the authorization_details the user approved, carried in the access token (§9.1)
   * and the token response (§7), kept by the refresh-token family for every refresh. Typed
   * loosely (StoredAuthorizationDetail) because a grant crosses Durable Object RPC, whose types
   * cannot follow the recursive JSON type.
   */
  authorizationDetails?: StoredAuthorizationDetail[];
  /**
   * Epoch seconds when the grant's refresh-token family started (set by issueRefreshToken). A
   * client registered under the same client_id after that is another client and does not
   * inherit the family (src/tokens/token-client.ts). Families started before it existed lack it.
   */
  issuedAt?: number;
}

/** A new grant id: 128 random bits, base64url. Not a secret: it only names the grant. */
export function newGrantId(): string {
  return randomHandle(16);
}

/** A grant as stored (a code's record, a refresh-token family's grant_json), read back. */
export const userGrantRecord: Parser<UserGrant> = object<UserGrant>({
  clientId: str,
  subject: str,
  scopes: arrayOf(str),
  resources: arrayOf(str),
  authTime: int,
  amr: arrayOf(str),
  acr: optional(str),
  sid: optional(str),
  certificateThumbprint: optional(str),
  grantId: optional(str),
  authorizationDetails: optional(arrayOf(storedAuthorizationDetail)),
  issuedAt: optional(int),
});
