/**
 * The load generator's HTTP client: node:http with a keep-alive agent of exactly `concurrency`
 * sockets, the same for edge-op (straight to workerd's socket for the Worker), the floor and the
 * peer. Redirects are not followed: a 302/303 from /authorize is the answer being measured.
 */
import { Agent, request as httpRequest } from "node:http";

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface HttpRequest {
  method: "GET" | "POST";
  url: URL;
  headers?: Record<string, string>;
  body?: string;
}

export class HttpClient {
  private readonly agent: Agent;

  constructor(concurrency: number) {
    this.agent = new Agent({ keepAlive: true, maxSockets: concurrency, maxFreeSockets: concurrency });
  }

  send({ method, url, headers = {}, body }: HttpRequest): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const outgoing = httpRequest(
        {
          agent: this.agent,
          method,
          hostname: url.hostname,
          port: url.port,
          path: `${url.pathname}${url.search}`,
          headers: body === undefined ? headers : { ...headers, "content-length": Buffer.byteLength(body) },
        },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
          incoming.on("end", () =>
            resolve({
              status: incoming.statusCode ?? 0,
              headers: incoming.headers,
              body: Buffer.concat(chunks).toString("utf8"),
            }),
          );
          incoming.on("error", reject);
        },
      );
      outgoing.on("error", reject);
      outgoing.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export function form(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

export function basicAuth(clientId: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString("base64")}`;
}

export const FORM_HEADERS = { "content-type": "application/x-www-form-urlencoded" } as const;

/**
 * The cookies of one signed-in browser, kept from Set-Cookie headers and sent back on every
 * request regardless of their Path (the bench visits only the paths that set them).
 */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  take(response: HttpResponse): void {
    const header = response.headers["set-cookie"];
    for (const line of Array.isArray(header) ? header : header ? [header] : []) {
      const [pair = ""] = line.split(";");
      const eq = pair.indexOf("=");
      if (eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === "" || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  /** Keeps only the cookies whose names `keep` accepts (e.g. the session, not a finished interaction's). */
  retain(keep: (name: string) => boolean): void {
    for (const name of [...this.cookies.keys()]) if (!keep(name)) this.cookies.delete(name);
  }

  get header(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join("; ");
  }

  get size(): number {
    return this.cookies.size;
  }
}

/** The value of a response's Location header. */
export function locationOf(response: HttpResponse): string {
  const value = response.headers.location;
  return (Array.isArray(value) ? value[0] : value) ?? "";
}
