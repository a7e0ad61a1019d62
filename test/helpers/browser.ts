/**
 * A minimal cookie-keeping "browser" for page tests inside workerd: follows nothing by itself,
 * keeps cookies from Set-Cookie, and can pull a form's hidden csrf field out of a page.
 */
import { call, type Vars } from "./http";

export class Browser {
  readonly cookies = new Map<string, string>();
  /**
   * `address` is Cloudflare's CF-Connecting-IP: each browser is its own client address unless told
   * otherwise. `vars` run the provider with other settings for this browser's requests.
   */
  constructor(
    readonly address = `198.51.100.${Math.floor(Math.random() * 254) + 1}:${crypto.randomUUID()}`,
    readonly vars: Vars = {},
  ) {}

  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.send(path, { method: "GET", headers });
  }

  async post(path: string, fields: Record<string, string | string[]>, headers: Record<string, string> = {}) {
    const body = new URLSearchParams();
    for (const [name, value] of Object.entries(fields)) {
      for (const v of Array.isArray(value) ? value : [value]) body.append(name, v);
    }
    return this.send(path, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
      body: body.toString(),
    });
  }

  async send(path: string, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set("cf-connecting-ip", this.address);
    if (this.cookies.size > 0) {
      headers.set("cookie", [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    }
    const response = await call(path, { ...init, headers, redirect: "manual" }, this.vars);
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const eq = pair?.indexOf("=") ?? -1;
      if (!pair || eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === "" || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return response;
  }

  /** The csrf token a page's forms carry. */
  static csrfOf(html: string): string {
    const match = /name="csrf" value="([^"]+)"/.exec(html);
    if (!match?.[1]) throw new Error("page has no csrf field");
    return match[1];
  }

  /** Signs in through the real sign-in form; returns the redirect response. */
  async signIn(username: string, password: string, returnTo = "/ciba"): Promise<Response> {
    const form = await this.get(`/signin?return_to=${encodeURIComponent(returnTo)}`);
    const csrf = Browser.csrfOf(await form.text());
    return this.post("/signin", { csrf, username, password, return_to: returnTo });
  }
}
