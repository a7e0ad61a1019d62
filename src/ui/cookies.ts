/**
 * The browser cookies of one provider (session, CSRF, the prompt=login marker): their names,
 * prefixes and path follow where it is mounted.
 * - At the root over https: `__Host-<name>`, Path=/ (RFC 6265bis: bound to this host, no Domain).
 * - Under a base path over https: `__Host-` requires Path=/, so `__Secure-<name>` with
 *   Path=<basePath>: the browser sends it only to this provider's own paths.
 * - Over plain http (local development) no prefix can be used: `<name>`.
 * A provider with a realm puts it in the name (`edge-op-<realm>-session`), so providers mounted
 * one inside the other's path never read each other's cookies.
 */
import type { Context } from "hono";
import type { AppEnv } from "../http/app-env";

export interface CookieSettings {
  name: string;
  secure: boolean;
  prefix: "host" | "secure" | undefined;
  path: string;
}

export function cookieSettings(c: Context<AppEnv>, purpose: "session" | "csrf" | "login-after"): CookieSettings {
  const { settings, routes, realm } = c.var.ctx;
  const secure = settings.issuer.startsWith("https:");
  const atRoot = routes.basePath === "";
  return {
    name: realm ? `edge-op-${realm}-${purpose}` : `edge-op-${purpose}`,
    secure,
    prefix: secure ? (atRoot ? "host" : "secure") : undefined,
    path: atRoot ? "/" : routes.basePath,
  };
}
