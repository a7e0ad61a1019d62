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

const NAME = "edge-op-login-after";

function prefix(c: Context<AppEnv>) {
  return c.var.ctx.settings.issuer.startsWith("https:") ? ("host" as const) : undefined;
}

async function requestKey(c: Context<AppEnv>): Promise<string> {
  return sha256Hex(new URL(c.req.url).search);
}

export async function markLoginRequired(c: Context<AppEnv>, notBefore: number): Promise<void> {
  const secret = await derivedSecret(c.var.ctx.env.DATA_ENCRYPTION_KEY, "login marker");
  await setSignedCookie(c, NAME, `${notBefore}.${await requestKey(c)}`, secret, {
    secure: prefix(c) !== undefined,
    prefix: prefix(c),
    httpOnly: true,
    sameSite: "Lax",
    path: "/",
    maxAge: 600,
  });
}

export async function loginIsFreshFor(c: Context<AppEnv>, session: Session): Promise<boolean> {
  const secret = await derivedSecret(c.var.ctx.env.DATA_ENCRYPTION_KEY, "login marker");
  const value = await getSignedCookie(c, secret, NAME, prefix(c));
  if (typeof value !== "string") return false;
  const [notBefore, key] = value.split(".");
  return key === (await requestKey(c)) && /^\d+$/.test(notBefore ?? "") && session.authTime >= Number(notBefore);
}
