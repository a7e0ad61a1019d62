/**
 * The console's passkey step-up rule (issue 17: "passkey step-up once passkeys exist"): an
 * admin who has a passkey uses the console only from a session that proved it with one, since
 * a password alone can be phished and a passkey assertion cannot (it is bound to our origin).
 * A session signed in with a passkey (RFC 8176 amr `pop`) proved it at sign-in; a password
 * session proves it once on the step-up page (./step-up.tsx), recorded in
 * admin_session_activity.passkey_at. An admin without passkeys is not asked: there is nothing
 * to step up with (the overview says how to turn it on).
 */
import type { Context } from "hono";
import type { AppEnv } from "../../http/app-env";
import type { Session } from "../../sessions/session-store";
import { hasPasskeys } from "../passkeys";

/** RFC 8176 `pop`: edge-op states it only for a verified passkey assertion (src/webauthn/amr.ts). */
const PASSKEY_METHOD = "pop";

/** Whether this session must still confirm with a passkey before the console answers it. */
export async function passkeyStepUpPending(
  c: Context<AppEnv>,
  session: Session,
  activity: { passkeyConfirmed: boolean },
): Promise<boolean> {
  if (activity.passkeyConfirmed || session.amr.includes(PASSKEY_METHOD)) return false;
  return hasPasskeys(c, session.subject);
}

/**
 * The binding of the console's step-up challenge: the console, this session (as stepUpBinding
 * binds a CIBA approval to its request and session). An assertion made for another session, or
 * for an approval, does not confirm this one.
 */
export const adminStepUpBinding = (session: Session) => `admin\u0000${session.sid}`;

/** The step-up page and its options call: reachable by an admin who has not stepped up yet. */
export function isStepUpPath(c: Context<AppEnv>): boolean {
  const routes = c.var.ctx.routes;
  return c.req.path === routes.path("adminStepUp") || c.req.path === routes.path("adminStepUpOptions");
}
