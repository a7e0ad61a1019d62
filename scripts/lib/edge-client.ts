/**
 * Driving edge-op over HTTP from Node, as its clients and users do: a client (client_secret_basic)
 * at /bc-authorize, /par and /token; a user's browser (cookies, the sign-in form, the CIBA
 * approval page, the consent page); an authenticator app at /api/ciba/requests. Used by the
 * fault tests (test/faults), the soak (scripts/soak.ts) and the fuzz run (scripts/fuzz.ts).
 *
 * The base URL is asked for on every request, so one client keeps working across restarts of the
 * runtime (a restarted Miniflare listens on a new port). Redirects are never followed: where a
 * redirect goes is part of the answer.
 */

export const CIBA_GRANT = "urn:openid:params:grant-type:ciba";

/** A PKCE verifier and its S256 challenge, BASE64URL(SHA256(verifier)) (RFC 7636 §4.2). */
export const CODE_VERIFIER = "dBjftJeZ4CVP-mJ0E7ckLvRLU6uRs-Gi9Vtqs3uR-rk";
export const CODE_CHALLENGE = "71bIAc0KnXu_Cp5f9-EyXrWKi-2jMeFw6iaR9rrRz_I";

export interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

/** The JSON body of an answer, or {} when it is not JSON (a page, an empty body). */
export function jsonOf(answer: Answer): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(answer.body);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {};
  } catch {
    return {};
  }
}

/** A string member of a JSON answer, or a thrown error that shows the answer. */
export function field(answer: Answer, name: string): string {
  const value = jsonOf(answer)[name];
  if (typeof value !== "string") throw new UnexpectedAnswer(`no ${name}`, answer);
  return value;
}

export class UnexpectedAnswer extends Error {
  override name = "UnexpectedAnswer";
  constructor(
    what: string,
    readonly answer: Answer,
  ) {
    super(`${what}: HTTP ${answer.status} ${answer.body.slice(0, 300)}`);
  }
}

/** Throws unless the answer has `status` (and, for an error, the OAuth `error` code). */
export function expectAnswer(answer: Answer, status: number, error?: string): Answer {
  if (answer.status !== status || (error !== undefined && jsonOf(answer).error !== error)) {
    throw new UnexpectedAnswer(`expected ${status}${error ? ` ${error}` : ""}`, answer);
  }
  return answer;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Abort after this long (default 30 s). */
  timeoutMs?: number;
}

/** Told of every answer (e.g. to count statuses across a whole run). */
export type AnswerObserver = (answer: Answer, method: string, path: string) => void;

/** One HTTP exchange with edge-op at `base()`. */
export async function send(
  base: () => URL,
  path: string,
  options: RequestOptions = {},
  observe?: AnswerObserver,
): Promise<Answer> {
  const method = options.method ?? "GET";
  const response = await fetch(new URL(path, base()), {
    method,
    headers: options.headers,
    body: options.body,
    redirect: "manual",
    signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
  });
  const answer = { status: response.status, headers: response.headers, body: await response.text() };
  observe?.(answer, method, path);
  return answer;
}

export function form(params: Record<string, string | string[]>): string {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    for (const v of Array.isArray(value) ? value : [value]) body.append(name, v);
  }
  return body.toString();
}

export const FORM = { "content-type": "application/x-www-form-urlencoded" } as const;

export function basicAuth(clientId: string, secret: string): string {
  const encode = (s: string) => encodeURIComponent(s).replace(/%20/g, "+");
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString("base64")}`;
}

/** A client that authenticates with client_secret_basic. */
export class OAuthClient {
  constructor(
    readonly base: () => URL,
    readonly id: string,
    readonly secret: string,
    readonly observe?: AnswerObserver,
  ) {}

  post(path: string, params: Record<string, string | string[]>): Promise<Answer> {
    const headers = { ...FORM, authorization: basicAuth(this.id, this.secret) };
    return send(this.base, path, { method: "POST", headers, body: form(params) }, this.observe);
  }

  backchannel(params: Record<string, string>): Promise<Answer> {
    return this.post("/bc-authorize", params);
  }

  pollCiba(authReqId: string): Promise<Answer> {
    return this.post("/token", { grant_type: CIBA_GRANT, auth_req_id: authReqId });
  }

  refresh(refreshToken: string): Promise<Answer> {
    return this.post("/token", { grant_type: "refresh_token", refresh_token: refreshToken });
  }

  clientCredentials(): Promise<Answer> {
    return this.post("/token", { grant_type: "client_credentials" });
  }

  /** RFC 9126: pushes a code-flow request; the answer carries request_uri. */
  pushAuthorization(redirectUri: string, scope: string, state: string): Promise<Answer> {
    return this.post("/par", {
      response_type: "code",
      client_id: this.id,
      redirect_uri: redirectUri,
      scope,
      state,
      code_challenge: CODE_CHALLENGE,
      code_challenge_method: "S256",
    });
  }

  exchangeCode(code: string, redirectUri: string): Promise<Answer> {
    return this.post("/token", {
      grant_type: "authorization_code",
      code,
      redirect_uri: redirectUri,
      code_verifier: CODE_VERIFIER,
    });
  }

  authorizeUrl(requestUri: string): string {
    return `/authorize?${form({ client_id: this.id, request_uri: requestUri })}`;
  }
}

/** The `csrf` hidden field of a page's form. */
export function csrfOf(html: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error(`the page has no csrf field: ${html.slice(0, 200)}`);
  return match[1];
}

/** A user's browser: keeps cookies, sends its own client address, follows nothing. */
export class Browser {
  readonly cookies = new Map<string, string>();

  constructor(
    readonly base: () => URL,
    readonly observe?: AnswerObserver,
    readonly address = `198.51.100.${Math.floor(Math.random() * 254) + 1}`,
  ) {}

  async send(path: string, options: RequestOptions = {}): Promise<Answer> {
    const headers: Record<string, string> = { "cf-connecting-ip": this.address, ...options.headers };
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    const answer = await send(this.base, path, { ...options, headers }, this.observe);
    for (const line of answer.headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const eq = pair.indexOf("=");
      if (eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === "" || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return answer;
  }

  get(path: string): Promise<Answer> {
    return this.send(path);
  }

  postForm(path: string, params: Record<string, string | string[]>): Promise<Answer> {
    return this.send(path, { method: "POST", headers: { ...FORM }, body: form(params) });
  }

  /** The real sign-in form; throws unless it signs the user in (303). */
  async signIn(username: string, password: string): Promise<void> {
    const page = expectAnswer(await this.get("/signin?return_to=%2Fciba"), 200);
    const done = await this.postForm("/signin", { csrf: csrfOf(page.body), username, password, return_to: "/ciba" });
    expectAnswer(done, 303);
  }

  /**
   * Answers a backchannel request on its page (/ciba/requests/{id}): approve with `scopes`
   * ticked (openid is implied), or deny. Returns the POST's answer (200 when it was recorded).
   */
  async answerCiba(internalId: string, action: "approve" | "deny", scopes: string[] = []): Promise<Answer> {
    const path = `/ciba/requests/${encodeURIComponent(internalId)}`;
    const page = await this.get(path);
    if (page.status !== 200) return page;
    return this.postForm(path, { csrf: csrfOf(page.body), action, scope: scopes });
  }
}

/**
 * The code flow of a signed-in browser through PAR: push, then consentAndCode. Returns the
 * authorization code.
 */
export async function authorizeWithConsent(
  browser: Browser,
  client: OAuthClient,
  redirectUri: string,
  scope: string,
  state = "s",
): Promise<string> {
  const pushed = expectAnswer(await client.pushAuthorization(redirectUri, scope, state), 201);
  return consentAndCode(browser, client, field(pushed, "request_uri"), redirectUri);
}

/**
 * /authorize with a pushed request, the consent page approved when it is shown (a remembered
 * consent skips it). Returns the code the redirect to the client carries.
 */
export async function consentAndCode(
  browser: Browser,
  client: OAuthClient,
  requestUri: string,
  redirectUri: string,
): Promise<string> {
  const authorize = client.authorizeUrl(requestUri);
  let answer = await browser.get(authorize);
  if (answer.status === 200) {
    answer = await browser.postForm(authorize, { csrf: csrfOf(answer.body), decision: "approve" });
  }
  return codeFromRedirect(expectAnswer(answer, 303), redirectUri);
}

/** An access token for the browser's user from `client` (e.g. the authenticator app's, with ciba:approve). */
export async function accessTokenFor(
  browser: Browser,
  client: OAuthClient,
  redirectUri: string,
  scope: string,
): Promise<string> {
  const code = await authorizeWithConsent(browser, client, redirectUri, scope);
  return field(expectAnswer(await client.exchangeCode(code, redirectUri), 200), "access_token");
}

/** The authorization code a redirect to the client carries; throws if it carries none. */
export function codeFromRedirect(answer: Answer, redirectUri: string): string {
  const location = answer.headers.get("location") ?? "";
  const code = location.startsWith(redirectUri) ? new URL(location).searchParams.get("code") : null;
  if (!code) throw new UnexpectedAnswer(`no code in the redirect (${location.slice(0, 200)})`, answer);
  return code;
}
