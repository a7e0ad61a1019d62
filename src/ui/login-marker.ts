/**
 * prompt=login asks for the password even when the user is signed in. Sign-in then returns to
 * /authorize with the same request, which still says prompt=login: without a marker that would
 * loop. Before sending the user to sign in, /authorize sets a short-lived signed cookie naming
 * this request (a hash of its query) and the time; a session that signed in at or after that
 * time satisfies prompt=login for this request only, also when the consent form posts back.
 */
import type { Context } from "hono";
import { getSignedCookie, setSignedCookie } from "hono/cookie";
import { derivedSecret } from "../crypto/derived-keys";
import { sha256Hex } from "../crypto/hash";
import type { AppEnv } from "../http/app-env";
import type { Session } from "../sessions/session-store";
import { cookieSettings } from "./cookies";

async function requestKey(c: Context<AppEnv>): Promise<string> {
  return sha256Hex(new URL(c.req.url).search);
}

export async function markLoginRequired(c: Context<AppEnv>, notBefore: number): Promise<void> {
  const secret = await derivedSecret(c.var.ctx.env.DATA_ENCRYPTION_KEY, "login marker");
  const { name, secure, prefix, path } = cookieSettings(c, "login-after");
  await setSignedCookie(c, name, `${notBefore}.${await requestKey(c)}`, secret, {
    secure,
    prefix,
    httpOnly: true,
    sameSite: "Lax",
    path,
    maxAge: 600,
  });
}

export async function loginIsFreshFor(c: Context<AppEnv>, session: Session): Promise<boolean> {
  const secret = await derivedSecret(c.var.ctx.env.DATA_ENCRYPTION_KEY, "login marker");
  const { name, prefix } = cookieSettings(c, "login-after");
  const value = await getSignedCookie(c, secret, name, prefix);
  if (typeof value !== "string") return false;
  const [notBefore, key] = value.split(".");
  return key === (await requestKey(c)) && /^\d+$/.test(notBefore ?? "") && session.authTime >= Number(notBefore);
}
