/**
 * The /ciba page as an installable web app (issue 16): a manifest, a service worker that shows
 * a Web Push notice and opens its approval page on tap, the page script behind the "Enable
 * notifications" button, and an icon. All served from edge-op's own routes, as files, so the
 * pages' Content-Security-Policy stays `script-src 'self'` with no inline code. Without
 * JavaScript the pages work as before; the button stays hidden.
 */
import type { Context, Hono } from "hono";
import type { AppEnv } from "../http/app-env";
import { route } from "../http/route";
import { PATHS } from "../routes";

export function mountPwa(app: Hono<AppEnv>): void {
  route(app, PATHS.webManifest, { GET: manifest });
  route(app, PATHS.serviceWorker, { GET: serviceWorker });
  route(app, PATHS.pushScript, { GET: pushScript });
  route(app, PATHS.appIcon, { GET: icon });
}

const CACHE = { "Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff" };

function manifest(c: Context<AppEnv>) {
  const { routes } = c.var.ctx;
  const body = {
    name: "edge-op sign-in requests",
    short_name: "edge-op",
    description: "Approve or deny sign-in requests sent to you",
    start_url: routes.path("cibaRequests"),
    scope: `${routes.basePath}/`,
    display: "standalone",
    background_color: "#ffffff",
    theme_color: "#1f6feb",
    icons: [{ src: routes.path("appIcon"), sizes: "any", type: "image/svg+xml", purpose: "any" }],
  };
  return c.body(JSON.stringify(body), 200, { ...CACHE, "Content-Type": "application/manifest+json; charset=utf-8" });
}

/**
 * The service worker. A push carries the notice of src/push/ciba-notice.ts; it is shown under
 * the request's tag, so a retried push replaces rather than repeats it. A tap opens the approval
 * URL, only if it is on this provider's origin (the notice is edge-op's, but a worker checks).
 */
const SERVICE_WORKER = `"use strict";
self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));
self.addEventListener("push", (event) => {
  let notice = {};
  try { notice = event.data ? event.data.json() : {}; } catch (e) { notice = {}; }
  if (notice.type !== "ciba_request") return;
  const details = Array.isArray(notice.authorization_details_text) ? notice.authorization_details_text.join("\n") : "";
  const code = notice.binding_message ? "Check the code: " + notice.binding_message : "Tap to review the request";
  const body = details ? details + "\n" + code : code;
  event.waitUntil(self.registration.showNotification((notice.client_name || "A client") + " asks you to sign in", {
    body: body, tag: notice.request_id, requireInteraction: true, data: { url: notice.approval_url },
  }));
});
self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = event.notification.data && event.notification.data.url;
  if (typeof url !== "string" || new URL(url).origin !== self.location.origin) return;
  event.waitUntil(self.clients.openWindow(url));
});
`;

function serviceWorker(c: Context<AppEnv>) {
  return c.body(SERVICE_WORKER, 200, {
    "Content-Type": "text/javascript; charset=utf-8",
    // A new version reaches browsers on their next visit.
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
  });
}

/**
 * The page script: registers the service worker (which also makes the page installable) and,
 * on "Enable notifications", asks for permission, subscribes with the VAPID key from
 * /api/push/vapid-key and POSTs the subscription with the page's CSRF token. Its URLs come from
 * the button's data attributes, so a base path needs no change here.
 */
const PUSH_SCRIPT = `"use strict";
(function () {
  const button = document.getElementById("enable-notifications");
  const status = document.getElementById("notifications-status");
  if (!button || !("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) return;
  const d = button.dataset;
  const say = (text) => { if (status) status.textContent = text; };
  const key = (b64) => {
    const s = atob(b64.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((b64.length + 3) % 4));
    return Uint8Array.from(s, (ch) => ch.charCodeAt(0));
  };
  const registration = navigator.serviceWorker.register(d.serviceWorker, { scope: d.scope });
  button.hidden = false;
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      if ((await Notification.requestPermission()) !== "granted") { say("Notifications are blocked for this site."); return; }
      const vapid = await fetch(d.vapidKey, { credentials: "same-origin" });
      if (!vapid.ok) { say("Notifications are not enabled on this server."); return; }
      const { publicKey } = await vapid.json();
      const reg = await registration;
      await navigator.serviceWorker.ready;
      const subscription = await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key(publicKey) });
      const answer = await fetch(d.subscriptions, {
        method: "POST", credentials: "same-origin",
        headers: { "content-type": "application/json", "x-csrf-token": d.csrf },
        body: JSON.stringify({ ...subscription.toJSON(), label: navigator.platform || "Browser" }),
      });
      say(answer.ok ? "Notifications are on for this device." : "The server refused this device.");
    } catch (e) {
      say("Notifications could not be turned on: " + (e && e.message ? e.message : e));
    } finally {
      button.disabled = false;
    }
  });
})();
`;

function pushScript(c: Context<AppEnv>) {
  return c.body(PUSH_SCRIPT, 200, { ...CACHE, "Content-Type": "text/javascript; charset=utf-8" });
}

const ICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 96 96"><rect width="96" height="96" rx="20" fill="#1f6feb"/><path d="M28 50l14 14 26-30" fill="none" stroke="#fff" stroke-width="9" stroke-linecap="round" stroke-linejoin="round"/></svg>`;

function icon(c: Context<AppEnv>) {
  return c.body(ICON, 200, { ...CACHE, "Content-Type": "image/svg+xml" });
}
