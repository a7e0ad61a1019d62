/**
 * The one error type of the HTTP boundary. Handlers throw an OAuthError (or one of the named
 * subclasses below, after the spec's error codes); `renderError` in ./boundary.ts turns it into
 * an RFC 6749 §5.2 JSON body. Anything else that escapes is a bug and is rendered as a bare 500.
 */
import type { ContentfulStatusCode } from "hono/utils/http-status";

export class OAuthError extends Error {
  override name = "OAuthError";
  constructor(
    /** The `error` code, from the spec that defines the endpoint. */
    readonly code: string,
    /** Human-readable `error_description`: safe to show to the client, never a secret. */
    readonly description: string,
    readonly status: ContentfulStatusCode = 400,
    readonly headers: Record<string, string> = {},
  ) {
    super(`${code}: ${description}`);
  }
}

/** RFC 6749 §5.2: malformed request, missing or repeated parameter. */
export class InvalidRequest extends OAuthError {
  constructor(description: string, status: ContentfulStatusCode = 400) {
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

/** RFC 6750 §3.1: a bearer token that is missing, expired, revoked or malformed. */
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
