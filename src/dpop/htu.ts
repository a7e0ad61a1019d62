/**
 * The `htu` comparison of RFC 9449 §4.3 (9): the proof names the URI of the request it was
 * made for, "ignoring any query and fragment parts", compared after RFC 3986 §6.2.2
 * (syntax-based) and §6.2.3 (scheme-based) normalisation, as §4.3 asks "to reduce the
 * likelihood of false negatives".
 *
 * The expected side is the endpoint's URL as this provider publishes it (issuer + path), not
 * the URL the Worker happened to be reached at: a proof is made for the published URL.
 */

/**
 * RFC 9449 §4.3 (9): the normalised form of `uri` without query and fragment, or undefined if it
 * is not an absolute http(s) URL. The WHATWG URL parser already does most of RFC 3986 §6.2:
 * lower-case scheme and host, default port removed, dot segments resolved, an empty path
 * becomes "/"; percent-encodings are left as written, so they are normalised here.
 */
export function normaliseHtu(uri: string): string | undefined {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return undefined;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return undefined;
  // userinfo has no place in a request's target URI (RFC 9110 §4.2.4): such an htu never matches.
  if (url.username || url.password) return undefined;
  url.search = "";
  url.hash = "";
  return `${url.protocol}//${url.host}${normalisePercentEncoding(url.pathname)}`;
}

/** RFC 9449 §4.3 (9): does the proof's `htu` name `expected` (the endpoint's published URL)? */
export function htuMatches(htu: string, expected: string): boolean {
  const actual = normaliseHtu(htu);
  return actual !== undefined && actual === normaliseHtu(expected);
}

const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/**
 * RFC 3986 §6.2.2.1 and §6.2.2.2: percent-encoded unreserved characters are decoded (%7E is
 * "~") and the remaining percent-encodings take upper-case hex digits (%2f is %2F).
 */
function normalisePercentEncoding(path: string): string {
  return path.replace(/%([0-9A-Fa-f]{2})/g, (_match, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
}

/**
 * The published URL of the endpoint a request reached, as a proof's `htu` must name it: this
 * provider's issuer origin, or its mTLS alias origin (RFC 8705 §5) when the request came there,
 * and the requested path (base path included). Not the Worker's own view of its URL, which a
 * proxy or a custom domain may change.
 */
export function publishedEndpointUrl(issuer: string, mtlsOrigin: string | undefined, requestUrl: string): string {
  const requested = new URL(requestUrl);
  const origin = mtlsOrigin !== undefined && requested.origin === mtlsOrigin ? mtlsOrigin : new URL(issuer).origin;
  return `${origin}${requested.pathname}`;
}
