/**
 * The one error type of the protocol. Protocol code and handlers throw an OAuthError (or one of
 * the named subclasses below, after the spec's error codes); `renderError` in
 * src/http/boundary.ts turns it into an RFC 6749 §5.2 JSON body. Anything else that escapes is
 * a bug and is rendered as a bare 500.
 */

/** The statuses an OAuth error is rendered with: client errors (RFC 9110 §15.5). */
const ERROR_STATUSES = [
  400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 423, 424, 425,
  426, 428, 429, 431, 451,
] as const;

export type ErrorStatus = (typeof ERROR_STATUSES)[number];

/** A status from elsewhere (Hono's HTTPException) as an ErrorStatus, or 400. */
export function errorStatus(status: number): ErrorStatus {
  return ERROR_STATUSES.find((known) => known === status) ?? 400;
}

export class OAuthError extends Error {
  override name = "OAuthError";
  constructor(
    /** The `error` code, from the spec that defines the endpoint. */
    readonly code: string,
    /** Human-readable `error_description`: safe to show to the client, never a secret. */
    readonly description: string,
    readonly status: ErrorStatus = 400,
    readonly headers: Record<string, string> = {},
  ) {
    super(`${code}: ${description}`);
  }
}

/** RFC 6749 §5.2: malformed request, missing or repeated parameter. */
export class InvalidRequest extends OAuthError {
  constructor(description: string, status: ErrorStatus = 400) {
    super("invalid_request", description, status);
  }
}

/**
 * RFC 6749 §5.2: client authentication failed. 401; when the client tried HTTP Basic the
 * response names the scheme it must use in `WWW-Authenticate`.
 */
export class InvalidClient extends OAuthError {
  constructor(description: string, options: { triedBasic?: boolean } = {}) {
    super("invalid_client", description, 401, {
      "WWW-Authenticate": options.triedBasic
        ? 'Basic realm="edge-op", error="invalid_client"'
        : 'Basic realm="edge-op"',
    });
  }
}

export class InvalidGrant extends OAuthError {
  constructor(description: string) {
    super("invalid_grant", description);
  }
}

export class UnauthorizedClient extends OAuthError {
  constructor(description: string) {
    super("unauthorized_client", description);
  }
}

export class UnsupportedGrantType extends OAuthError {
  constructor(description: string) {
    super("unsupported_grant_type", description);
  }
}

export class InvalidScope extends OAuthError {
  constructor(description: string) {
    super("invalid_scope", description);
  }
}

/**
 * RFC 6750 §3.1: a request to a protected resource with no credentials at all. "If the request
 * lacks any authentication information …, the resource server SHOULD NOT include an error code
 * or other error information": a bare challenge, and the boundary renders no body (empty code).
 */
export class BearerTokenRequired extends OAuthError {
  constructor() {
    super("", "", 401, { "WWW-Authenticate": 'Bearer realm="edge-op"' });
  }
}

/** RFC 6750 §3.1: a bearer token that is expired, revoked, malformed or not meant for this endpoint. */
export class InvalidToken extends OAuthError {
  constructor(description: string) {
    super("invalid_token", description, 401, {
      "WWW-Authenticate": `Bearer error="invalid_token", error_description="${headerSafe(description)}"`,
    });
  }
}

export class InsufficientScope extends OAuthError {
  constructor(description: string) {
    super("insufficient_scope", description, 403, {
      "WWW-Authenticate": `Bearer error="insufficient_scope", error_description="${headerSafe(description)}"`,
    });
  }
}

export class MethodNotAllowed extends OAuthError {
  constructor(method: string, allowed: string[]) {
    super("invalid_request", `method ${method} is not allowed here`, 405, { Allow: allowed.join(", ") });
  }
}

export class PayloadTooLarge extends OAuthError {
  constructor(limit: number) {
    super("invalid_request", `request body is larger than ${limit} bytes`, 413);
  }
}

export class NotFound extends OAuthError {
  constructor(path: string) {
    super("not_found", `no endpoint at ${path}`, 404);
  }
}

/** RFC 6750 §3: error_description is printable ASCII without `"` or `\\`. */
function headerSafe(text: string): string {
  return text.replace(/[^\x20-\x7e]|["\\]/g, "");
}

// CIBA §11 (token endpoint) and §13 (backchannel authentication endpoint) error codes.

export class AuthorizationPending extends OAuthError {
  constructor() {
    super("authorization_pending", "the user has not yet approved or denied the request");
  }
}

export class SlowDown extends OAuthError {
  constructor(interval: number) {
    super("slow_down", `polling too fast; wait at least ${interval} seconds between requests`);
  }
}

export class ExpiredToken extends OAuthError {
  constructor() {
    super("expired_token", "the auth_req_id has expired; start a new backchannel authentication request");
  }
}

/** 400 at the token endpoint (the user denied); 403 at the backchannel endpoint (policy refusal). */
export class AccessDenied extends OAuthError {
  constructor(description: string, status: ErrorStatus = 400) {
    super("access_denied", description, status);
  }
}

export class UnknownUserId extends OAuthError {
  constructor(description = "the hint does not identify a known user") {
    super("unknown_user_id", description);
  }
}

export class ExpiredLoginHintToken extends OAuthError {
  constructor() {
    super("expired_login_hint_token", "the login_hint_token has expired");
  }
}

export class InvalidBindingMessage extends OAuthError {
  constructor(description: string) {
    super("invalid_binding_message", description);
  }
}

export class MissingUserCode extends OAuthError {
  constructor() {
    super("missing_user_code", "this client must send the user's user_code");
  }
}

export class InvalidUserCode extends OAuthError {
  constructor() {
    super("invalid_user_code", "the user_code is not valid");
  }
}

/** RFC 8707 §2: a resource indicator that is not an absolute URI without a fragment. */
export class InvalidTarget extends OAuthError {
  constructor(description: string) {
    super("invalid_target", description);
  }
}

/** RFC 7591 §3.2.2: a client metadata field is invalid, or its value breaks a registration rule. */
export class InvalidClientMetadata extends OAuthError {
  constructor(description: string) {
    super("invalid_client_metadata", description);
  }
}

/** RFC 7591 §3.2.2: a redirect_uri is not acceptable. */
export class InvalidRedirectUri extends OAuthError {
  constructor(description: string) {
    super("invalid_redirect_uri", description);
  }
}

/**
 * OpenID Connect Core Unmet Authentication Requirements 1.0 §1: the authorization server cannot
 * authenticate the user as the client required (an essential `acr`, OIDC Core §5.5.1.1, or a
 * class edge-op requires at approval, such as `phr`, that this user cannot meet).
 */
export class UnmetAuthenticationRequirements extends OAuthError {
  constructor(description: string) {
    super("unmet_authentication_requirements", description);
  }
}
