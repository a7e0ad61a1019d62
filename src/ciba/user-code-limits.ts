/**
 * The user_code guessing limits (./user-code-attempts.ts) as one call: reserve a failure in the
 * user's and the client's object, compare, give the reservations back for a right code. A
 * replacement user validator that checks user_codes itself can reuse it.
 */
import type { Client } from "../clients/metadata";
import type { Settings } from "../config";
import type { Bindings } from "../env";
import { OAuthError } from "../errors";

/**
 * Runs `compare` (true: the code is right) under both limits. Throws 429 invalid_user_code
 * with Retry-After when the user or the client has used up its allowance; otherwise returns
 * what `compare` said, having counted a wrong code against both.
 */
export async function withinUserCodeLimits(
  env: Bindings,
  settings: Settings,
  client: Client,
  subject: string,
  compare: () => Promise<boolean>,
): Promise<boolean> {
  const ns = env.USER_CODE_ATTEMPTS;
  const user = ns.get(ns.idFromName(`user:${subject}`));
  const byClient = ns.get(ns.idFromName(`client:${client.client_id}`));
  const window = settings.userCodeLockout;
  const [forUser, forClient] = await Promise.all([
    user.attempt(settings.userCodeMaxFailures, window),
    byClient.attempt(settings.userCodeClientMaxFailures, window),
  ]);
  if (!forUser.allowed || !forClient.allowed) {
    // Give back the reservation the other one made: this attempt compared nothing.
    await Promise.all([forUser.allowed && user.release(), forClient.allowed && byClient.release()]);
    const retryAfter = Math.max(forUser.allowed ? 0 : forUser.retryAfter, forClient.allowed ? 0 : forClient.retryAfter);
    const who = forUser.allowed ? "this client" : "this user";
    throw new OAuthError(
      "invalid_user_code",
      `too many wrong user_codes for ${who}; try again in ${retryAfter} seconds`,
      429,
      { "Retry-After": String(retryAfter) },
    );
  }
  let right = false;
  try {
    right = await compare();
  } finally {
    if (right) await Promise.all([user.release(), byClient.release()]);
  }
  return right;
}
