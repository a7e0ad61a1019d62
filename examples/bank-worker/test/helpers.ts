/**
 * The example's test helpers: calling the bank Worker, registering a client and a customer in
 * edge-op's D1 tables with the package's own registration helpers, and a small browser that
 * keeps cookies (by their Path) and submits the forms a page shows, as a person would.
 */
import { env, exports } from "cloudflare:workers";
import { CLIENT_COLUMNS, type ClientRegistration, clientRow, userRow, validateClientRegistration } from "edge-op";
import { provider } from "../src/index";

export const ORIGIN = "https://bank.example";
export const ISSUER = `${ORIGIN}/master`;

/** A request to the bank Worker through its real fetch handler. */
export function call(path: string, init?: RequestInit): Promise<Response> {
  return exports.default.fetch(new Request(new URL(path, ORIGIN), { redirect: "manual", ...init }));
}

export function postForm(path: string, fields: Record<string, string>, headers: Record<string, string> = {}) {
  return call(path, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

export const basic = (clientId: string, secret: string) => ({
  authorization: `Basic ${btoa(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`)}`,
});

/** Registers a client as the admin tool would: validated, secret hashed, one row in `clients`. */
export async function registerClient(overrides: Partial<ClientRegistration> & { client_id: string }) {
  const registration: ClientRegistration = {
    client_name: `Client ${overrides.client_id}`,
    token_endpoint_auth_method: "client_secret_basic",
    client_secret: `${overrides.client_id}-secret-0123456789`,
    grant_types: [],
    redirect_uris: [],
    scope: "openid profile",
    backchannel_user_code_parameter: false,
    require_pushed_authorization_requests: false,
    ...overrides,
  };
  const { settings } = provider.context(env);
  validateClientRegistration(registration, settings.scopesSupported, {
    allowHttpNotificationEndpoints: settings.allowHttpNotificationEndpoints,
  });
  const row = await clientRow(registration, env.DATA_ENCRYPTION_KEY);
  await env.DB.prepare(
    `INSERT INTO clients (${CLIENT_COLUMNS.join(", ")}) VALUES (${CLIENT_COLUMNS.map(() => "?").join(", ")})`,
  )
    .bind(...CLIENT_COLUMNS.map((column) => row[column]))
    .run();
  return { ...registration, secret: registration.client_secret as string };
}

/** The bank's customer cust-1001 as edge-op's sign-in page knows her (the directory knows her too). */
export const ALICE = { sub: "cust-1001", username: "alice", password: "correct horse battery staple" };

export async function registerAlice(): Promise<void> {
  const row = await userRow({ ...ALICE, email: "alice@bank.example", name: "Alice Example" }, env.DATA_ENCRYPTION_KEY);
  const columns = Object.keys(row) as (keyof typeof row)[];
  await env.DB.prepare(`INSERT INTO users (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`)
    .bind(...columns.map((column) => row[column]))
    .run();
}

/** PKCE S256 (RFC 7636 §4.2). */
export async function pkce() {
  const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  return { verifier, challenge: base64url(digest) };
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

interface Cookie {
  value: string;
  path: string;
}

/** A browser: cookies kept by name and sent only under their Path; forms submitted as shown. */
export class Browser {
  readonly cookies = new Map<string, Cookie>();

  async get(url: string): Promise<Response> {
    return this.send(url, { method: "GET" });
  }

  async send(url: string, init: RequestInit): Promise<Response> {
    const target = new URL(url, ORIGIN);
    const headers = new Headers(init.headers);
    const sent = [...this.cookies].filter(
      ([, c]) => target.pathname === c.path || target.pathname.startsWith(`${c.path.replace(/\/$/, "")}/`),
    );
    if (sent.length > 0) headers.set("cookie", sent.map(([name, c]) => `${name}=${c.value}`).join("; "));
    const response = await call(target.toString(), { ...init, headers });
    for (const line of response.headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";").map((part) => part.trim());
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq);
      const path = attributes.find((a) => /^path=/i.test(a))?.slice(5) ?? "/";
      if (pair.slice(eq + 1) === "" || attributes.some((a) => /^max-age=0$/i.test(a))) this.cookies.delete(name);
      else this.cookies.set(name, { value: pair.slice(eq + 1), path });
    }
    return response;
  }

  /** Follows redirects on this origin (GET), as a browser would; stops at a page or another origin. */
  async follow(response: Response): Promise<Response> {
    let current = response;
    for (let hops = 0; hops < 10; hops++) {
      const location = current.headers.get("location");
      if (current.status < 300 || current.status >= 400 || !location) return current;
      const next = new URL(location, ORIGIN);
      if (next.origin !== ORIGIN) return current;
      current = await this.get(next.toString());
    }
    throw new Error("too many redirects");
  }

  /**
   * Submits the page's POST form that holds `marker` (say, `name="password"`) the way its button
   * would: the form's own action, its hidden fields, and the given fields on top.
   */
  async submit(html: string, marker: string, fields: Record<string, string>): Promise<Response> {
    const forms = [...html.matchAll(/<form method="post" action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)];
    const form = forms.find((f) => (f[2] ?? "").includes(marker));
    if (!form) throw new Error(`the page has no form with ${marker}`);
    const [, action = "", inner = ""] = form;
    const body = new URLSearchParams();
    for (const input of inner.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
      body.set(input[1] as string, unescapeHtml(input[2] as string));
    }
    for (const [name, value] of Object.entries(fields)) body.set(name, value);
    return this.send(unescapeHtml(action), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: body.toString(),
    });
  }
}

function unescapeHtml(text: string): string {
  return text
    .replace(/&amp;/g, "&")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">");
}

/**
 * Walks an authorization request as the customer would: signs in on the provider's page when
 * asked, approves on the consent page when shown, and returns the redirect to the client.
 */
export async function authorizeAs(browser: Browser, authorizeUrl: string, user = ALICE): Promise<Response> {
  let response = await browser.follow(await browser.get(authorizeUrl));
  for (let step = 0; step < 4; step++) {
    if (response.status >= 300 && response.status < 400) return response;
    const html = await response.text();
    if (html.includes('name="password"')) {
      response = await browser.submit(html, 'name="password"', { username: user.username, password: user.password });
    } else if (html.includes('name="decision"')) {
      response = await browser.submit(html, 'name="decision"', { decision: "approve" });
    } else {
      return new Response(html, { status: response.status, headers: response.headers });
    }
    response = await browser.follow(response);
  }
  throw new Error("the authorization request did not finish");
}
