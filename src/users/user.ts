/**
 * A user as edge-op sees one (from whichever UserStore the provider uses), and the standard
 * OpenID Connect claims a set of scopes releases about them.
 */

export interface User {
  sub: string;
  username: string;
  email?: string;
  email_verified: boolean;
  phone_number?: string;
  phone_number_verified: boolean;
  name?: string;
  given_name?: string;
  family_name?: string;
  password_hash: string;
  /**
   * The user's CIBA user_code, if they have one: `hmac-sha256$…` (src/users/user-code.ts), or
   * a bare SHA-256 (hex) written by an older edge-op, replaced on its first right use.
   */
  user_code_hash?: string;
}

/** OpenID Connect Core §5.4: the claims each standard scope releases. */
export function claimsFor(user: User, scopes: readonly string[]): Record<string, string | boolean> {
  const claims: Record<string, string | boolean> = { sub: user.sub };
  const put = (name: string, value: string | boolean | undefined) => {
    if (value !== undefined) claims[name] = value;
  };
  if (scopes.includes("profile")) {
    put("name", user.name);
    put("given_name", user.given_name);
    put("family_name", user.family_name);
    put("preferred_username", user.username);
  }
  if (scopes.includes("email") && user.email) {
    put("email", user.email);
    put("email_verified", user.email_verified);
  }
  if (scopes.includes("phone") && user.phone_number) {
    put("phone_number", user.phone_number);
    put("phone_number_verified", user.phone_number_verified);
  }
  return claims;
}
