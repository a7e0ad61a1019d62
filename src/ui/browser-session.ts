/**
 * The browser side of sessions: a signed, HttpOnly, SameSite=Lax cookie holding the session
 * id. Over https it is `__Host-edge-op-session` (Secure, Path=/, no Domain), or under a base
 * path `__Secure-edge-op-session` with that path (./cookies.ts); over plain http (local
 * development only) the prefix cannot be used and the cookie is `edge-op-session`.
 */
import type { Context } from "hono";
import { deleteCookie, getSignedCookie, setSignedCookie } from "hono/cookie";
import { derivedSecret } from "../crypto/derived-keys";
import { AccessDenied } from "../errors";
import type { AppEnv } from "../http/app-env";
import type { Session } from "../sessions/session-store";
import { cookieSettings } from "./cookies";
import { rotateCsrfToken } from "./csrf";

function cookieOptions(c: Context<AppEnv>) {
  const { name, secure, prefix, path } = cookieSettings(c, "session");
  return { name, secure, prefix, httpOnly: true, sameSite: "Lax" as const, path };
}

async function cookieSecret(c: Context<AppEnv>): Promise<string> {
  return derivedSecret(c.var.ctx.env.DATA_ENCRYPTION_KEY, "session cookie");
}

async function sessionIdFromCookie(c: Context<AppEnv>): Promise<string | undefined> {
  const options = cookieOptions(c);
  const value = await getSignedCookie(c, await cookieSecret(c), options.name, options.prefix);
  return typeof value === "string" ? value : undefined;
}

/** The signed-in user's live session, if any. */
export async function currentSession(c: Context<AppEnv>): Promise<Session | undefined> {
  const id = await sessionIdFromCookie(c);
  return id ? c.var.ctx.stores.sessions.find(id) : undefined;
}

/**
 * Starts a session for `subject` with a new id and a new CSRF token. The session this browser
 * had before, whoever it was for, ends on the server: signing in as someone else (or again)
 * must not leave the old cookie value usable, nor carry a planted id or a known CSRF token over.
 */
export async function startSession(c: Context<AppEnv>, subject: string, amr: string[] = ["pwd"]): Promise<Session> {
  const settings = c.var.ctx.settings;
  const store = c.var.ctx.stores.sessions;
  // A user the store no longer finds (disabled in the console, or removed) starts no session,
  // whichever way they proved who they are (a passkey names its user without a lookup).
  if (!(await c.var.ctx.stores.users.findBySubject(subject)))
    throw new AccessDenied("this account cannot sign in", 403);
  const previous = await sessionIdFromCookie(c);
  if (previous) await store.delete(previous);
  await store.deleteExpired();
  const { id, session } = await store.create(subject, settings.sessionTtl, amr);
  const { name, ...options } = cookieOptions(c);
  await setSignedCookie(c, name, id, await cookieSecret(c), { ...options, maxAge: settings.sessionTtl });
  await rotateCsrfToken(c);
  return session;
}

export async function endSession(c: Context<AppEnv>): Promise<void> {
  const id = await sessionIdFromCookie(c);
  if (id) await c.var.ctx.stores.sessions.delete(id);
  const options = cookieOptions(c);
  deleteCookie(c, options.name, { path: options.path, secure: options.secure, prefix: options.prefix });
}
