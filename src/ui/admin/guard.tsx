/**
 * Who may use the console: a signed-in user with the admin role (D1 table admin_roles), whose
 * session has not sat idle in the console for longer than ADMIN_IDLE_TIMEOUT. Anyone else gets
 * the sign-in page (no session, or an idle one, which is ended) or 403 (signed in, not an
 * admin), on every console page and form: the check runs before anything else is read.
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

export interface Admin {
  session: Session;
  user: User;
  store: AdminStore;
  /** The audit trail's `actor`. */
  actor: string;
  csrf: string;
  adminName: string;
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
  if ((await store.touch(session.sid, session.authTime, ctx.settings.adminIdleTimeout)) === "idle") {
    await endSession(c);
    return { refusal: signIn() };
  }
  return {
    admin: {
      session,
      user,
      store,
      actor: session.subject,
      csrf: await csrfToken(c),
      adminName: user.name ?? user.username,
    },
  };
}

/** Re-authentication for a dangerous action: the admin's own password, typed again. */
export async function reauthenticated(admin: Admin, password: string | undefined): Promise<boolean> {
  const ok = await verifyPassword(password ?? "", admin.user.password_hash);
  if (!ok) logger.info("signin_failed", { known_user: true });
  return ok;
}
