/**
 * The time rules shared by every JWT a client sends: client assertions (RFC 7523 §3), signed
 * backchannel requests (CIBA §7.1.1) and request objects pushed to /par (RFC 9101, RFC 9126 §3).
 * One tolerance, the JWT_CLOCK_TOLERANCE setting, for all of them:
 *  - `exp` may have passed by up to the tolerance, `nbf` may lie ahead by up to it (jose's own
 *    checks, given `clockTolerance`);
 *  - `iat` may lie ahead by up to it (jose checks `iat` only with `maxTokenAge`, so it is checked
 *    here). FAPI 2.0 §5.3.2.1: accept `iat`/`nbf` up to 10 s in the future, refuse more than 60 s;
 *    the setting is therefore 10 to 60.
 *  - a JWT can be accepted until `exp` plus the tolerance, which is how long its `jti` must be
 *    remembered (src/replay/replay-guard.ts).
 */
import type { JWTPayload } from "jose";
import type { Settings } from "../config";

/** jose's options for the checks it makes itself (exp, nbf). */
export function clockTolerance(settings: Settings): { clockTolerance: number } {
  return { clockTolerance: settings.jwtClockTolerance };
}

export interface TimeLimits {
  /** Client assertions: the furthest `exp` may lie ahead of now (bounds how long a jti is kept). */
  maxExpiresIn?: number;
  /**
   * Request objects (CIBA §7.1.1, FAPI 2.0): the longest lifetime, `exp` minus the start the
   * object states (`nbf`, else `iat`, else now), and the oldest `nbf` accepted.
   */
  maxLifetime?: number;
}

/**
 * Why the JWT's times cannot be accepted, or undefined. Run after jose verified the JWT with
 * `clockTolerance(settings)`: by then `exp`, `nbf` and `iat`, where present, are numbers, `exp`
 * has not passed and `nbf` is not too far ahead.
 */
export function timeProblem(claims: JWTPayload, settings: Settings, limits: TimeLimits): string | undefined {
  const now = Math.floor(Date.now() / 1000);
  const { exp, nbf, iat } = claims;
  if (typeof exp !== "number") return "exp is required";
  if (iat !== undefined && iat > now + settings.jwtClockTolerance) {
    return `iat is more than ${settings.jwtClockTolerance} seconds in the future`;
  }
  if (limits.maxExpiresIn !== undefined && exp - now > limits.maxExpiresIn) {
    return `exp may be at most ${limits.maxExpiresIn} seconds ahead`;
  }
  if (limits.maxLifetime !== undefined) {
    // Whatever the object says about its start, it may not be usable for longer than this: an
    // object with no nbf (or iat) is measured from now, so exp a year ahead is refused too.
    const start = nbf ?? iat ?? now;
    if (exp - start > limits.maxLifetime) {
      const from = nbf !== undefined ? "nbf" : iat !== undefined ? "iat" : "now";
      return `exp may be at most ${limits.maxLifetime} seconds after ${from} (${limits.maxLifetime / 60} minutes)`;
    }
    if (nbf !== undefined && now - nbf > limits.maxLifetime) {
      return `nbf is more than ${limits.maxLifetime} seconds in the past`;
    }
  }
  return undefined;
}

/** The last moment (epoch seconds) a JWT with this `exp` can be accepted. */
export function acceptableUntil(exp: number, settings: Settings): number {
  return exp + settings.jwtClockTolerance;
}
