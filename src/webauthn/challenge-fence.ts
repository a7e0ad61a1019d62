/**
 * The single use of a WebAuthn challenge (W3C WebAuthn L3 §13.4.3; issue 16: "consumed exactly
 * once, also under concurrency"). The sealed cookie (./challenge.ts) says a challenge is ours,
 * unexpired, for this purpose and binding; it cannot say the challenge was not used already:
 * an assertion captured with its cookie could be sent again within the cookie's two minutes, or
 * several times at once. So a ceremony claims its challenge in a ReplayGuard Durable Object
 * before it is accepted: `claim` is one synchronous read-check-write in a strongly consistent
 * object, so of any number of verifications of one challenge, anywhere, exactly one gets true.
 *
 * One object per user (`idFromName("webauthn:" + subject)`): a user's ceremonies are rare and
 * happen near them, and no object sees everyone's. The row is the SHA-256 of the challenge
 * (`challengeId`), kept until the cookie has expired plus a margin for the clocks.
 */
import type { ReplayGuard } from "../replay/replay-guard";

/** Seconds a claimed challenge is kept beyond its cookie's expiry (the Worker's and object's clocks differ). */
const CLOCK_MARGIN = 60;

/** True for the first claim of `challengeId`; false if it was claimed before (a replay). */
export function claimChallenge(
  guard: DurableObjectNamespace<ReplayGuard>,
  subject: string,
  challenge: { challengeId: string; expiresAt: number },
): Promise<boolean> {
  const stub = guard.get(guard.idFromName(`webauthn:${subject}`));
  return stub.claim(`webauthn-challenge:${challenge.challengeId}`, challenge.expiresAt + CLOCK_MARGIN);
}
