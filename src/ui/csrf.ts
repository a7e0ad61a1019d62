/**
 * CSRF protection for every form: a signed double-submit cookie. A page that renders a form
 * puts the cookie's value in a hidden `csrf` field; a POST must carry both, equal, and, when
 * the browser sends an Origin header, come from this provider's own origin. A cross-site page
 * can make the browser send the cookie, but cannot read it to fill in the field.
 */
import type { Context } from "hono";
import { getSignedCookie, setSignedCookie } from "hono/cookie";
import { derivedSecret } from "../crypto/derived-keys";
import { randomHandle, timingSafeEqual } from "../crypto/hash";
import type { AppEnv } from "../http/app-env";
import { cookieSettings } from "./cookies";

/** The token to embed in a form, creating the cookie on first use. */
export async function csrfToken(c: Context<AppEnv>): Promise<string> {
  const secret = await derivedSecret(c.var.ctx.env.DATA_ENCRYPTION_KEY, "csrf cookie");
  const { name, prefix } = cookieSettings(c, "csrf");
  const existing = await getSignedCookie(c, secret, name, prefix);
  if (typeof existing === "string") return existing;
  return rotateCsrfToken(c);
}

/**
 * Sets a new token, whatever the browser had. Called when a session starts: a token that was
 * known before sign-in (read on a shared computer, or the previous user's) must not be good
 * for the new user's forms.
 */
export async function rotateCsrfToken(c: Context<AppEnv>): Promise<string> {
  const secret = await derivedSecret(c.var.ctx.env.DATA_ENCRYPTION_KEY, "csrf cookie");
  const { name, prefix, path, secure } = cookieSettings(c, "csrf");
  const token = randomHandle(32);
  await setSignedCookie(c, name, token, secret, { httpOnly: true, sameSite: "Lax", path, secure, prefix });
  return token;
}

/** True when the submitted form carries the cookie's token and comes from our origin. */
export async function validCsrf(c: Context<AppEnv>, submitted: string | undefined): Promise<boolean> {
  const origin = c.req.header("origin");
  if (origin !== undefined && origin !== new URL(c.var.ctx.settings.issuer).origin) return false;
  if (!submitted) return false;
  const secret = await derivedSecret(c.var.ctx.env.DATA_ENCRYPTION_KEY, "csrf cookie");
  const { name, prefix } = cookieSettings(c, "csrf");
  const cookie = await getSignedCookie(c, secret, name, prefix);
  return typeof cookie === "string" && (await timingSafeEqual(cookie, submitted));
}
