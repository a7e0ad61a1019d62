/**
 * RFC 9396 §5: the error of rich authorization requests. Raised at /par, /authorize,
 * /bc-authorize and the token endpoint (§6, §8) alike; 400 with an RFC 6749 §5.2 body, or
 * redirected to the client like any other authorization error once its redirect URI is known.
 */
import { OAuthError } from "../errors";

/**
 * RFC 9396 §5: "The AS MUST refuse to process any unknown authorization details type or
 * authorization details not conforming to the respective type definition": unknown type, unknown
 * field, a field of the wrong type or with an invalid value, or a required field missing. The
 * description names the detail (by index) and the field; it repeats no value the client sent.
 */
export class InvalidAuthorizationDetails extends OAuthError {
  constructor(description: string) {
    super("invalid_authorization_details", description);
  }
}
