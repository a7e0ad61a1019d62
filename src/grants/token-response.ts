/** What every grant at the token endpoint returns (RFC 6749 §5.1), and the shape of a grant. */
import type { AuthenticatedClient } from "../clients/authenticate";
import type { RequestContext } from "../context";
import type { FormParams } from "../params/form-params";
import type { StoredAuthorizationDetail } from "../rar/schema";

export interface TokenResponse {
  access_token: string;
  /** RFC 9449 §5: DPoP when the access token is bound to a DPoP key. */
  token_type: "Bearer" | "DPoP";
  expires_in: number;
  scope?: string;
  id_token?: string;
  refresh_token?: string;
  /** RFC 9396 §7: the authorization details the user approved. */
  authorization_details?: StoredAuthorizationDetail[];
}

export type GrantHandler = (
  ctx: RequestContext,
  client: AuthenticatedClient,
  form: FormParams,
) => Promise<TokenResponse>;
