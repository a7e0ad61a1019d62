/**
 * Hostile requests for the fuzz run (scripts/fuzz.ts), the soak (scripts/soak.ts) and their
 * short versions in `npm test` (test/hostile-input.property.test.ts,
 * test/hostile-authenticator.property.test.ts): one set of generators and one check of the
 * answers for all of them. The lists of endpoints, pages and parameter names come from
 * test/helpers/endpoints.ts. Beyond the endpoints, the pages and return_to:
 * the authenticator API (/api/ciba/requests…) with valid credentials, a Bearer token with
 * ciba:approve or the session cookie, and JSON bodies close to valid ones.
 *
 * Pure fast-check, no Node or Workers API: it runs in Node and inside workerd alike. A request is
 * data ({method, path, headers, body}) with placeholders that only the runner can fill in (the
 * session's CSRF token, a pending request's id, a live Bearer token): see PLACEHOLDERS.
 */
import fc from "fast-check";
import { ADMIN_PAGES, ENDPOINTS, GRANT_TYPE_VALUES, PAGES, PARAMETER_NAMES } from "../../test/helpers/endpoints.ts";

/** Stand-ins the runner replaces just before sending (plain and percent-encoded forms alike). */
export const PLACEHOLDERS = {
  /** The signed-in browser's current CSRF token. */
  csrf: "@csrf@",
  /** The internal id of a pending backchannel request of the signed-in user. */
  request: "@request@",
  /** A live access token with ciba:approve for the same user. */
  bearer: "@bearer@",
} as const;

export interface HostileRequest {
  method: string;
  /** Path and query, starting with "/". */
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Which generator made it ("endpoint", "page", "signed-in", "return_to", "authenticator"). */
  kind: HostileKind;
  /** Whether the runner sends it as the signed-in browser (its cookies). */
  signedIn: boolean;
}

export type HostileKind = "endpoint" | "page" | "signed-in" | "return_to" | "authenticator";

export interface HostileOptions {
  /** A client whose valid Basic credentials some requests carry. */
  client: { id: string; secret: string };
  /** A username that exists, so random forms sometimes name a real user. */
  username: string;
  /** The issuer origin (what Origin headers claim). */
  issuer: string;
  /** A code-flow client and its registered redirect URI, for a well-formed /authorize. */
  webClient: { id: string; redirectUri: string };
}

/** Header values must be ISO-8859-1 without CR/LF, or fetch itself refuses to send them. */
export function sendable(value: string): boolean {
  return /^[\x20-\x7e\x80-\xff]*$/.test(value);
}

function basicOf(id: string, secret: string): string {
  return `Basic ${btoa(`${id}:${secret}`)}`;
}

function encodePairs(pairs: readonly (readonly [string, string])[]): string {
  return pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
}

/** The property test's generators, for the given client and user. */
export function hostileGenerators(options: HostileOptions) {
  const text = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: "grapheme", maxLength: 40 }),
    fc.constantFrom(
      ...GRANT_TYPE_VALUES,
      options.client.id,
      options.username,
      "openid",
      "openid profile",
      "%",
      "%zz",
      "\u0000",
      "a".repeat(3000),
    ),
  );

  const formBody = fc
    .array(fc.tuple(fc.oneof(fc.constantFrom(...PARAMETER_NAMES), fc.string({ maxLength: 10 })), text), {
      maxLength: 12,
    })
    .map((pairs) => encodePairs(pairs));

  const rawBody = fc.oneof(
    formBody,
    fc.string({ maxLength: 200 }),
    fc.constantFrom("%", "a=%E0%A4%A", "=&=&", "a=1&a=2", '{"grant_type":"client_credentials"}'),
  );

  const contentType = fc.constantFrom(
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=utf-8",
    "application/json",
    "text/plain",
    "multipart/form-data",
    "",
    "x/y; ;;",
  );

  const authorization = fc.oneof(
    fc.constant(undefined),
    fc.constant(basicOf(options.client.id, options.client.secret)),
    fc.string({ maxLength: 60 }).map((s) => `Basic ${s}`),
    fc.string({ maxLength: 60 }).map((s) => `Bearer ${s}`),
    fc.string({ maxLength: 60 }),
  );

  const method = fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS");

  /** Any method, endpoint (with a random query), content type, body and Authorization. */
  const endpointRequest = fc
    .record({
      method,
      path: fc.oneof(
        fc.constantFrom(...ENDPOINTS),
        fc.tuple(fc.constantFrom(...ENDPOINTS), fc.string({ maxLength: 20 })).map(([p, q]) => `${p}?${encodeURI(q)}`),
      ),
      contentType,
      body: rawBody,
      authorization,
    })
    .map((r): HostileRequest => {
      const headers: Record<string, string> = {};
      if (r.contentType) headers["content-type"] = r.contentType;
      if (r.authorization !== undefined && sendable(r.authorization)) headers.authorization = r.authorization;
      return {
        kind: "endpoint",
        signedIn: false,
        method: r.method,
        path: r.path,
        headers,
        body: r.method === "GET" ? undefined : r.body,
      };
    });

  /** A page with a random query and body, as a stranger with a random session cookie. */
  const pageRequest = fc
    .record({
      page: fc.constantFrom(...PAGES),
      query: fc.string({ maxLength: 20 }).map((q) => (q ? `?${encodeURI(q)}` : "")),
      method,
      contentType,
      body: rawBody,
      cookie: authorization,
      address: fc.integer({ min: 0, max: 249 }),
    })
    .map((r): HostileRequest => {
      const headers: Record<string, string> = { "cf-connecting-ip": `192.0.2.${r.address}` };
      if (r.contentType) headers["content-type"] = r.contentType;
      if (r.cookie !== undefined && sendable(r.cookie))
        headers.cookie = `edge-op-session=${encodeURIComponent(r.cookie)}`;
      return {
        kind: "page",
        signedIn: false,
        method: r.method,
        path: `${r.page}${r.query}`,
        headers,
        body: r.method === "GET" ? undefined : r.body,
      };
    });

  /** return_to values: random text (any code unit, controls included) and known tricks. */
  const returnTo = fc.oneof(
    fc.string({ maxLength: 40 }).map((s) => `/${s}`),
    fc.string({ unit: "binary", maxLength: 40 }).map((s) => `/${s}`),
    fc.string({ unit: "grapheme", maxLength: 20 }),
    fc
      .tuple(
        fc.constantFrom("\t", "\n", "\r", "\u0000", "\u007f", "\u0085", "\u2028", "ü", "\\", "/.", "%09", "%0A"),
        fc.constantFrom("/", "//", ""),
      )
      .map(([trick, slash]) => `/${trick}${slash}/evil.example/x?y=${trick}#${trick}`),
    fc.constantFrom(
      "//evil.example",
      "/.//evil.example",
      "/..//evil.example",
      "https://evil.example",
      "/%2F%2Fevil.example",
    ),
  );

  const returnToRequest = fc.tuple(returnTo, fc.boolean()).map(
    ([value, signedIn]): HostileRequest => ({
      kind: "return_to",
      signedIn,
      method: "GET",
      path: `/signin?return_to=${encodeURIComponent(value)}`,
      headers: {},
    }),
  );

  const signedInText = fc.oneof(
    text,
    returnTo,
    fc.constantFrom(PLACEHOLDERS.csrf, "approve", "deny", "login", "consent none"),
  );

  /** Forms that mostly pass the CSRF check and choose an answer, so the code behind them runs. */
  const signedInForm = fc
    .tuple(
      fc.boolean(),
      fc.constantFrom([], ["action", "approve"], ["action", "deny"], ["decision", "approve"], ["decision", "deny"]),
      fc.array(fc.tuple(fc.oneof(fc.constantFrom(...PARAMETER_NAMES), fc.string({ maxLength: 10 })), signedInText), {
        maxLength: 8,
      }),
    )
    .map(([withCsrf, answer, pairs]) =>
      encodePairs([
        ...(withCsrf ? [["csrf", PLACEHOLDERS.csrf] as const] : []),
        ...(answer.length === 2 ? [answer as [string, string]] : []),
        ...pairs,
      ]),
    );

  /** A well-formed authorization request of the code-flow client, so a signed-in /authorize reaches consent. */
  const authorize = `/authorize?${new URLSearchParams({
    client_id: options.webClient.id,
    response_type: "code",
    redirect_uri: options.webClient.redirectUri,
    scope: "openid profile",
    code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGgSFw-cMx",
    code_challenge_method: "S256",
  })}`;
  const requestPage = `/ciba/requests/${PLACEHOLDERS.request}`;
  /** The pages' JSON calls (passkeys, step-up options, push devices): fields they read, any values. */
  const pageJsonBody = fc
    .dictionary(
      fc.constantFrom("return_to", "response", "label", "passkey_assertion", "endpoint", "keys", "id", "csrf"),
      fc.oneof(returnTo, fc.constant(PLACEHOLDERS.csrf), fc.constant({}), fc.constant(null), fc.integer()),
      { maxKeys: 4 },
    )
    .map((body) => JSON.stringify(body));

  /** Any of `pages`, signed in with a live session, mostly with the real CSRF token. */
  const signedInRequestTo = (pages: readonly string[]) =>
    fc
      .record({
        page: fc.constantFrom(...pages),
        query: fc.oneof(
          fc.constant(""),
          fc.tuple(fc.constant("return_to"), returnTo),
          fc.tuple(fc.constantFrom("prompt", "state", "max_age", "csrf"), signedInText),
        ),
        method: fc.constantFrom("GET", "GET", "POST", "POST", "PUT", "DELETE"),
        // A form (CSRF token in the body), a JSON call as the pages' scripts make it (CSRF token
        // in X-CSRF-Token), or anything else.
        shape: fc.oneof(
          {
            weight: 3,
            arbitrary: signedInForm.map((body) => ({
              contentType: "application/x-www-form-urlencoded",
              body,
              csrfHeader: false,
            })),
          },
          {
            weight: 2,
            arbitrary: pageJsonBody.map((body) => ({ contentType: "application/json", body, csrfHeader: true })),
          },
          {
            weight: 1,
            arbitrary: fc
              .tuple(contentType, fc.oneof(rawBody, pageJsonBody), fc.boolean())
              .map(([type, body, csrfHeader]) => ({ contentType: type, body, csrfHeader })),
          },
        ),
        origin: fc.constantFrom(undefined, undefined, options.issuer, options.issuer, "https://evil.example", "null"),
      })
      .map((r): HostileRequest => {
        const query = Array.isArray(r.query) ? encodePairs([r.query as [string, string]]) : "";
        const path = query ? `${r.page}${r.page.includes("?") ? "&" : "?"}${query}` : r.page;
        const headers: Record<string, string> = {};
        if (r.shape.contentType) headers["content-type"] = r.shape.contentType;
        if (r.origin) headers.origin = r.origin;
        if (r.shape.csrfHeader) headers["x-csrf-token"] = PLACEHOLDERS.csrf;
        return {
          kind: "signed-in",
          signedIn: true,
          method: r.method,
          path,
          headers,
          body: r.method === "GET" ? undefined : r.shape.body,
        };
      });

  /** Every page, signed in as a user. */
  const signedInRequest = signedInRequestTo([
    ...PAGES,
    requestPage,
    `${requestPage}/passkey-options`,
    authorize,
    authorize.replace("/authorize?", "/authorize/passkey-options?"),
  ]);

  /** Every console page and form, signed in as an admin (the runner signs in one). */
  const adminRequest = signedInRequestTo(ADMIN_PAGES);

  /**
   * The authenticator API with valid credentials: a live Bearer token (ciba:approve) or the
   * session cookie, on the user's own pending request or a random id, with JSON bodies close to
   * valid ones (scopes of every type, descriptions of every length) or random text.
   */
  const jsonValue = fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.string({ maxLength: 20 }),
    fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }),
  );
  const scopeValues = fc.array(fc.constantFrom("openid", "profile", "email", "offline_access", "ciba:approve"), {
    maxLength: 4,
  });
  /** Mostly well-formed answers (so the code behind the checks runs), some of every other shape. */
  const apiBody = fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .record(
          {
            scopes: fc.oneof(
              { weight: 3, arbitrary: scopeValues },
              { weight: 1, arbitrary: fc.array(fc.string({ maxLength: 12 }), { maxLength: 4 }) },
              { weight: 1, arbitrary: jsonValue },
            ),
            description: fc.oneof(
              { weight: 2, arbitrary: fc.string({ maxLength: 220 }) },
              { weight: 1, arbitrary: jsonValue },
            ),
          },
          { requiredKeys: [] },
        )
        .map((body) => JSON.stringify(body)),
    },
    {
      weight: 1,
      arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), jsonValue, { maxKeys: 3 }).map((d) => JSON.stringify(d)),
    },
    { weight: 1, arbitrary: fc.string({ maxLength: 100 }) },
    { weight: 1, arbitrary: fc.constantFrom("", "{", "[]", "null", '{"scopes":"openid"}', '{"scopes":[1,2]}') },
  );
  const authenticatorRequest = fc
    .record({
      target: fc.oneof(
        { weight: 4, arbitrary: fc.constant(PLACEHOLDERS.request) },
        { weight: 1, arbitrary: fc.string({ maxLength: 70 }).map((s) => encodeURIComponent(s)) },
      ),
      action: fc.constantFrom("", "/approve", "/approve", "/approve", "/deny", "/deny", "/other"),
      list: fc.constantFrom(false, false, false, true),
      method: fc.constantFrom("GET", "POST", "POST", "POST", "POST", "PUT", "DELETE"),
      credentials: fc.constantFrom(
        "bearer",
        "bearer",
        "bearer",
        "cookie",
        "cookie",
        "cookie",
        "bearer-lowercase",
        "none",
      ),
      contentType: fc.oneof(
        { weight: 4, arbitrary: fc.constant("application/json") },
        { weight: 1, arbitrary: contentType },
        { weight: 1, arbitrary: fc.constant("application/json; charset=utf-8") },
      ),
      body: apiBody,
      origin: fc.constantFrom(undefined, undefined, options.issuer, "https://evil.example"),
    })
    .map((r): HostileRequest => {
      const headers: Record<string, string> = {};
      if (r.contentType) headers["content-type"] = r.contentType;
      if (r.origin) headers.origin = r.origin;
      if (r.credentials === "bearer") headers.authorization = `Bearer ${PLACEHOLDERS.bearer}`;
      if (r.credentials === "bearer-lowercase") headers.authorization = `bearer ${PLACEHOLDERS.bearer}`;
      return {
        kind: "authenticator",
        signedIn: r.credentials === "cookie",
        method: r.method,
        path: r.list ? "/api/ciba/requests" : `/api/ciba/requests/${r.target}${r.action}`,
        headers,
        body: r.method === "GET" ? undefined : r.body,
      };
    });

  /** All of them, in the proportions the fuzz run and the soak use. */
  const anyRequest = fc.oneof(
    { weight: 4, arbitrary: endpointRequest },
    { weight: 2, arbitrary: pageRequest },
    { weight: 1, arbitrary: returnToRequest },
    { weight: 3, arbitrary: signedInRequest },
    { weight: 3, arbitrary: authenticatorRequest },
  );

  return {
    endpointRequest,
    pageRequest,
    returnToRequest,
    signedInRequest,
    adminRequest,
    authenticatorRequest,
    anyRequest,
  };
}

/** The values that fill the placeholders for one signed-in user. */
export interface PlaceholderValues {
  csrf: string;
  request: string;
  bearer: string;
}

/** Replaces the placeholders in a value, in their plain and percent-encoded forms. */
export function fillPlaceholders(value: string, values: PlaceholderValues): string {
  let out = value;
  for (const [name, placeholder] of Object.entries(PLACEHOLDERS) as [keyof PlaceholderValues, string][]) {
    out = out.replaceAll(encodeURIComponent(placeholder), values[name]).replaceAll(placeholder, values[name]);
  }
  return out;
}

/**
 * RFC 6750 §3.1: a request to a protected resource with no credentials gets a challenge with no
 * error code and no other error information, so no JSON body either.
 */
export function isBareBearerChallenge(status: number, wwwAuthenticate: string | null): boolean {
  const challenge = wwwAuthenticate ?? "";
  return status === 401 && /^Bearer\b/.test(challenge) && !/error=/.test(challenge);
}

/**
 * What is wrong with an answer to `request`, or undefined if nothing: never a 5xx; an endpoint's
 * or the API's error is JSON with an `error` code (or a bare Bearer challenge); a Location leads
 * only to this site or to the code-flow client's redirect URI, in printable ASCII.
 */
export function answerProblem(
  request: HostileRequest,
  answer: {
    status: number;
    contentType: string | null;
    wwwAuthenticate: string | null;
    location: string | null;
    body: string;
  },
  options: Pick<HostileOptions, "issuer" | "webClient">,
): string | undefined {
  if (answer.status >= 500) return `answered ${answer.status}`;
  const jsonErrors = request.kind === "endpoint" || request.kind === "authenticator";
  if (jsonErrors && answer.status >= 400 && !isBareBearerChallenge(answer.status, answer.wwwAuthenticate)) {
    if (!(answer.contentType ?? "").includes("application/json")) return `error ${answer.status} is not JSON`;
    let error: unknown;
    try {
      error = (JSON.parse(answer.body) as { error?: unknown }).error;
    } catch {
      return `error ${answer.status} body is not JSON`;
    }
    if (typeof error !== "string") return `error ${answer.status} has no error code`;
  }
  if (answer.location !== null) {
    if (!/^[\x21-\x7e]+$/.test(answer.location)) return "Location is not printable ASCII";
    const target = new URL(answer.location, options.issuer);
    const allowed = [new URL(options.issuer).origin, new URL(options.webClient.redirectUri).origin];
    if (!allowed.includes(target.origin)) return `Location leads to ${target.origin}`;
    if (target.origin === new URL(options.issuer).origin && answer.location.startsWith("//")) {
      return "Location is protocol-relative";
    }
  }
  if (request.kind === "return_to" && request.signedIn && answer.status !== 303) {
    return `signed-in /signin answered ${answer.status}, not 303`;
  }
  return undefined;
}
