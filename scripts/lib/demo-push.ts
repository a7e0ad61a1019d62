/**
 * The demo's phone (npm run demo:ciba): a local Web Push receiver (the fake push service of the
 * tests, test/node/push-service.ts, which decrypts what it receives as a browser would and checks
 * the VAPID signature) subscribed for the user exactly as the /ciba page's "Enable notifications"
 * button does it: sign in, read the page's CSRF token, fetch /api/push/vapid-key, POST the
 * subscription to /api/push/subscriptions. The provider must accept loopback push endpoints
 * (npm start does: ALLOW_HTTP_NOTIFICATION_ENDPOINTS=true) and list webpush in CIBA_NOTIFICATION.
 */
import { startPushService } from "../../test/node/push-service.ts";

export class DemoPushError extends Error {
  override name = "DemoPushError";
}

/** A tiny cookie jar: enough for the sign-in form and the session cookie. */
class Jar {
  private readonly cookies = new Map<string, string>();

  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const eq = pair.indexOf("=");
      if (eq > 0) this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }
}

export interface DemoPhone {
  /** Waits for the next push about `bindingMessage` and returns the decrypted notice. */
  nextNotice(bindingMessage: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function subscribeDemoPhone(issuer: URL, username: string, password: string): Promise<DemoPhone> {
  const jar = new Jar();
  const at = (path: string) => new URL(path, issuer).toString();
  const send = async (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set("cookie", jar.header());
    headers.set("origin", issuer.origin);
    const response = await fetch(at(path), { ...init, headers, redirect: "manual" });
    jar.take(response);
    return response;
  };

  const vapid = await send("/api/push/vapid-key");
  if (!vapid.ok) throw new DemoPushError("the provider has no Web Push (CIBA_NOTIFICATION must list webpush)");
  const { publicKey } = (await vapid.json()) as { publicKey: string };

  const form = await (await send("/signin?return_to=/ciba")).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(form)?.[1] ?? "";
  const signedIn = await send("/signin", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ csrf, username, password, return_to: "/ciba" }).toString(),
  });
  if (signedIn.status !== 303) throw new DemoPushError(`signing in as ${username} failed (${signedIn.status})`);
  const page = await (await send("/ciba")).text();
  const pageCsrf = /data-csrf="([^"]+)"/.exec(page)?.[1];
  if (!pageCsrf) throw new DemoPushError("the /ciba page has no Enable notifications button");

  const service = await startPushService();
  const made = await fetch(`${service.url}/_subscriptions`, {
    method: "POST",
    body: JSON.stringify({ applicationServerKey: publicKey }),
  });
  const { id, subscription } = (await made.json()) as { id: string; subscription: unknown };
  const stored = await send("/api/push/subscriptions", {
    method: "POST",
    headers: { "content-type": "application/json", "x-csrf-token": pageCsrf },
    body: JSON.stringify({ ...(subscription as object), label: "demo:ciba receiver" }),
  });
  if (stored.status !== 201) {
    await service.close();
    throw new DemoPushError(
      `the provider refused the receiver's subscription (${stored.status}: ${await stored.text()})`,
    );
  }

  return {
    async nextNotice(bindingMessage, timeoutMs = 15_000) {
      const until = Date.now() + timeoutMs;
      while (Date.now() < until) {
        const received = (await (await fetch(`${service.url}/_received/${id}`)).json()) as {
          payload?: string;
          refused?: string;
        }[];
        for (const message of received) {
          if (message.refused) throw new DemoPushError(`the receiver refused a push: ${message.refused}`);
          const notice = JSON.parse(message.payload ?? "{}") as Record<string, unknown>;
          if (notice.binding_message === bindingMessage) return notice;
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      throw new DemoPushError("no push arrived (is the provider running with npm start?)");
    },
    close: () => service.close(),
  };
}
