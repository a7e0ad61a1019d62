/** What every server-rendered page shares: security headers, rendering, and error pages. */
import type { Context, Handler, MiddlewareHandler } from "hono";
import type { JSX } from "hono/jsx/jsx-runtime";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { OAuthError } from "../errors";
import type { AppEnv } from "../http/app-env";
import { APP_CSS } from "./assets";
import { MessagePage } from "./layout";
import { RoutesContext } from "./routes-context";

/**
 * CSP without inline code, no framing, no referrer, no caching of personal pages. There is no
 * `form-action` directive on purpose: browsers apply it to the redirects that follow a form
 * (sign-in → /authorize → the client's redirect_uri), which would block every login.
 */
export const pageSecurityHeaders: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  c.header(
    "Content-Security-Policy",
    // script, connect, manifest and worker 'self': the /ciba page's push script, its fetch to
    // the push API, the web app manifest and the service worker (src/ui/pwa.ts); files only.
    "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; connect-src 'self'; manifest-src 'self'; worker-src 'self'; frame-ancestors 'none'; base-uri 'none'",
  );
  c.header("X-Content-Type-Options", "nosniff");
  c.header("X-Frame-Options", "DENY");
  // same-origin, not no-referrer: with no-referrer, browsers send `Origin: null` on our own form
  // posts, and the CSRF check (which compares Origin) would refuse every sign-in.
  c.header("Referrer-Policy", "same-origin");
  c.header("Cross-Origin-Opener-Policy", "same-origin");
  c.header("Permissions-Policy", "camera=(), microphone=(), geolocation=()");
  if (c.var.ctx.settings.issuer.startsWith("https:")) {
    c.header("Strict-Transport-Security", "max-age=31536000; includeSubDomains");
  }
  if (c.req.path !== c.var.ctx.routes.path("stylesheet")) c.header("Cache-Control", "no-store");
};

export function stylesheet(c: Context<AppEnv>) {
  return c.body(APP_CSS, 200, { "Content-Type": "text/css; charset=utf-8", "Cache-Control": "public, max-age=3600" });
}

export type PageHandler = (c: Context<AppEnv>) => Promise<Response>;

/** Renders a page; protocol errors thrown inside (bad form, too large) become an HTML page. */
export function page(handler: PageHandler): Handler<AppEnv> {
  return async (c) => {
    try {
      return await handler(c);
    } catch (error) {
      if (!(error instanceof OAuthError)) throw error;
      return render(
        c,
        <MessagePage title="Something is wrong with this request" message={error.description} />,
        error.status,
      );
    }
  };
}

/** A page, with the provider's routes for its links (./routes-context.ts). */
export async function render(c: Context<AppEnv>, node: JSX.Element, status: ContentfulStatusCode = 200) {
  const page = <RoutesContext.Provider value={c.var.ctx.routes}>{node}</RoutesContext.Provider>;
  return c.html(`<!doctype html>${await page.toString()}`, status);
}
