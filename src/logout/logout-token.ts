/**
 * OpenID Back-Channel Logout 1.0 §2.4: the logout token, a JWT signed like an ID token with
 * `typ` logout+jwt (§2.4: "RECOMMENDED … explicitly typed"), carrying iss, aud, iat, exp, jti,
 * sub and sid, and the backchannel-logout event. §2.4: it MUST NOT contain a nonce.
 */
import { randomHandle } from "../crypto/hash";
import { signJwt } from "../tokens/jwt";
import type { KeySet } from "../tokens/keys";

export const LOGOUT_TOKEN_TYP = "logout+jwt";
export const BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout";
/** §2.4 leaves exp to the OP; a short life bounds a token kept for retries (2 + 4 + 8 + 16 s). */
export const LOGOUT_TOKEN_LIFETIME = 120;

export interface LogoutTokenInput {
  issuer: string;
  clientId: string;
  subject: string;
  sid: string;
}

export async function mintLogoutToken(keys: KeySet, input: LogoutTokenInput): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  return signJwt(
    keys,
    {
      iss: input.issuer,
      aud: input.clientId,
      iat,
      exp: iat + LOGOUT_TOKEN_LIFETIME,
      jti: randomHandle(16),
      sub: input.subject,
      sid: input.sid,
      events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    },
    LOGOUT_TOKEN_TYP,
  );
}
