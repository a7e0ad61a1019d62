/**
 * Who may use the console: a signed-in user with the admin role (D1 table admin_roles), whose
 * session has not sat idle in the console for longer than ADMIN_IDLE_TIMEOUT. Anyone else gets
 * the sign-in page (no session, or an idle one, which is ended) or 403 (signed in, not an
 * admin), on every console page and form: the check runs before anything else is read. An
 * admin who has a passkey and signed in with a password is sent to confirm with it first
 * (./step-up-rule.ts), from every console page but the step-up page itself.
 */
import type { Context } from "hono";
import { AdminStore } from "../../admin/store";
import { verifyPassword } from "../../crypto/password";
import type { AppEnv } from "../../http/app-env";
import { logger } from "../../log";
import type { Session } from "../../sessions/session-store";
import type { User } from "../../users/user";
import { currentSession, endSession } from "../browser-session";
import { csrfToken } from "../csrf";
import { MessagePage } from "../layout";
import { render } from "../page";
import { isStepUpPath, passkeyStepUpPending } from "./step-up-rule";

export interface Admin {
  session: Session;
  user: User;
  store: AdminStore;
  /** The audit trail's `actor`. */
  actor: string;
  csrf: string;
  adminName: string;
  /** Whether the session must still confirm with a passkey (only the step-up page gets such an admin). */
  passkeyStepUpPending: boolean;
}

export type AdminCheck = { admin: Admin; refusal?: undefined } | { admin?: undefined; refusal: Response };

export async function requireAdmin(c: Context<AppEnv>): Promise<AdminCheck> {
  const ctx = c.var.ctx;
  const session = await currentSession(c);
  const signIn = () => {
    const returnTo = c.req.method === "GET" ? new URL(c.req.url).pathname : ctx.routes.path("admin");
    return c.redirect(`${ctx.routes.path("signIn")}?return_to=${encodeURIComponent(returnTo)}`, 303);
  };
  if (!session) return { refusal: signIn() };
  const store = new AdminStore(ctx.env.DB);
  const user = await ctx.stores.users.findBySubject(session.subject);
  if (!user || !(await store.isAdmin(session.subject))) {
    const page = <MessagePage title="Not allowed" message="This page is for administrators only." />;
    return { refusal: await render(c, page, 403) };
  }
  const activity = await store.touch(session.sid, session.authTime, ctx.settings.adminIdleTimeout);
  if (activity.state === "idle") {
    await endSession(c);
    return { refusal: signIn() };
  }
  const stepUpPending = await passkeyStepUpPending(c, session, activity);
  if (stepUpPending && !isStepUpPath(c)) {
    // Back to the page asked for once confirmed; a form's POST goes back to the overview.
    const url = new URL(c.req.url);
    const returnTo = c.req.method === "GET" ? `${url.pathname}${url.search}` : ctx.routes.path("admin");
    return { refusal: c.redirect(`${ctx.routes.path("adminStepUp")}?return_to=${encodeURIComponent(returnTo)}`, 303) };
  }
  return {
    admin: {
      session,
      user,
      store,
      actor: session.subject,
      csrf: await csrfToken(c),
      adminName: user.name ?? user.username,
      passkeyStepUpPending: stepUpPending,
    },
  };
}

/** Re-authentication for a dangerous action: the admin's own password, typed again. */
export async function reauthenticated(admin: Admin, password: string | undefined): Promise<boolean> {
  const ok = await verifyPassword(password ?? "", admin.user.password_hash);
  if (!ok) logger.info("signin_failed", { known_user: true });
  return ok;
}
