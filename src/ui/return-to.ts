/**
 * Where sign-in sends the browser afterwards (`return_to`): only a path on this site.
 *
 * A prefix check is not enough. Browsers drop TAB, CR and LF anywhere in a URL before resolving
 * it (WHATWG URL, "basic URL parser"), so `/<TAB>/evil.example` is read as `//evil.example`,
 * another origin; CR, LF and NUL in a header value make the runtime throw; DEL and non-ASCII
 * bytes are not allowed raw in a header (RFC 9110 §5.5). So the value is refused when it holds
 * any control character, resolved against the issuer with the same URL parser the browser uses,
 * and kept only when it stays on the issuer's origin; what goes into `Location` is the parser's
 * own serialization (percent-encoded printable ASCII), never the raw input. Under a base path
 * it must also stay under that path: another provider's (realm's) pages are not this one's.
 * Anything refused goes to the user's pending requests (the CIBA list).
 */
import type { Routes } from "../routes";

/**
 * Long enough for an authorization request carried in the query (its redirect_uri, state,
 * nonce, PKCE challenge, resources), short enough that `/signin?return_to=<it, encoded>` stays
 * well under the 16 KB a URL may have at Cloudflare's edge.
 */
export const MAX_RETURN_TO_LENGTH = 4096;

/** Unicode category Cc: C0 controls, DEL and C1 controls. */
const CONTROL = /\p{Cc}/u;

export function safeReturnTo(value: string | undefined, issuer: string, routes: Routes): string {
  const fallback = routes.path("cibaRequests");
  if (!value || value.length > MAX_RETURN_TO_LENGTH) return fallback;
  // A path, not a scheme or `//host`; no backslash, which special URLs read as a slash.
  if (!value.startsWith("/") || value.startsWith("//") || value.includes("\\") || CONTROL.test(value)) {
    return fallback;
  }
  let url: URL;
  try {
    url = new URL(value, issuer);
  } catch {
    return fallback;
  }
  const path = `${url.pathname}${url.search}${url.hash}`;
  // Dot segments can turn `/.//evil.example` into the path `//evil.example`: as a Location that
  // would be another host again.
  if (url.origin !== new URL(issuer).origin || path.startsWith("//") || !routes.contains(url.pathname)) {
    return fallback;
  }
  return path;
}
