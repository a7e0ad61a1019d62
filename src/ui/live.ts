/**
 * Live /ciba pages (issue 16): an open list of pending requests shows a new request within a
 * second and drops one answered or expired elsewhere, without a reload. The page opens a
 * WebSocket to `/ciba/live`; this route checks who is asking and hands the connection to the
 * user's Durable Object (src/users/user-object.ts), which accepts it as a hibernatable
 * WebSocket: while nothing changes, no object stays awake for it, and the page's keep-alive
 * "ping" is answered by the runtime. The script is a file (`script-src 'self'`), and the page
 * works without it.
 *
 * The upgrade is refused unless it comes from a page of this provider's origin (a WebSocket
 * carries cookies but is not bound by the same-origin policy, so another site could otherwise
 * open one in the signed-in user's name: cross-site WebSocket hijacking) and with a session.
 */
import type { Context, Hono } from "hono";
import { pendingListOf } from "../ciba/user-list";
import type { AppEnv } from "../http/app-env";
import { route } from "../http/route";
import { PATHS } from "../routes";
import { currentSession } from "./browser-session";

export function mountLive(app: Hono<AppEnv>): void {
  route(app, PATHS.cibaLive, { GET: liveSocket });
  route(app, PATHS.liveScript, { GET: liveScript });
}

async function liveSocket(c: Context<AppEnv>): Promise<Response> {
  // RFC 6455 §4.1: an upgrade is a GET with `Upgrade: websocket`.
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    return c.text("expected a WebSocket upgrade", 426, { Upgrade: "websocket" });
  }
  // RFC 6455 §10.2: the server checks Origin; only this provider's own pages may connect.
  if (c.req.header("origin") !== new URL(c.var.ctx.settings.issuer).origin) {
    return c.text("cross-origin WebSocket refused", 403);
  }
  const session = await currentSession(c);
  if (!session) return c.text("sign in first", 401);
  const user = await pendingListOf(c.var.ctx.env, session.subject);
  // The object needs only the upgrade: no cookie or other header of the browser's goes on.
  const answer = await user.fetch("https://user-object.internal/live", { headers: { upgrade: "websocket" } });
  // A Response of our own (the object's has immutable headers), so the pages' security headers apply.
  if (answer.status !== 101) return new Response(await answer.text(), { status: answer.status });
  return new Response(null, { status: 101, webSocket: answer.webSocket } as ResponseInit);
}

function liveScript(c: Context<AppEnv>): Response {
  return c.body(LIVE_SCRIPT, 200, {
    "Content-Type": "text/javascript; charset=utf-8",
    "Cache-Control": "public, max-age=3600",
    "X-Content-Type-Options": "nosniff",
  });
}

/**
 * The page script. On every event from the user's object ("list", "added", "removed") it
 * fetches the page again and swaps in its list, so what it shows is exactly what the server
 * renders (no markup built from data here). Every second it drops cards whose request expired
 * and refreshes their time left. It pings every 30 s (answered without waking the object) and,
 * after a lost connection, reconnects with a growing delay and asks for the list ("sync").
 */
const LIVE_SCRIPT = `"use strict";
(function () {
  var list = document.getElementById("pending-list");
  if (!list || typeof WebSocket !== "function") return;
  var url = new URL(list.getAttribute("data-live"), location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  var delay = 1000;
  var loading = null;
  var again = false;

  // What the list shows, as far as a refresh could change it: which requests (their links) and
  // whether it is the empty state. The time left is kept current by tick().
  function signature(el) {
    var links = Array.prototype.map.call(el.querySelectorAll("a[href]"), function (a) { return a.getAttribute("href"); });
    return links.join(" ") + (el.querySelector("[data-empty]") ? " empty" : "");
  }

  function refresh() {
    if (loading) { again = true; return; }
    loading = fetch(location.href, { credentials: "same-origin", headers: { accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        if (html === null) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("pending-list");
        // Swapped only when the requests differ: a card swapped away under the user's finger
        // would swallow the tap (the socket's first "list" event usually matches the page).
        if (fresh && signature(fresh) !== signature(list)) list.replaceChildren.apply(list, Array.prototype.slice.call(fresh.childNodes));
      })
      .catch(function () {})
      .then(function () {
        loading = null;
        if (again) { again = false; refresh(); }
      });
  }

  function tick() {
    var now = Date.now() / 1000;
    list.querySelectorAll("[data-expires-at]").forEach(function (card) {
      var left = Math.floor(Number(card.getAttribute("data-expires-at")) - now);
      if (left <= 0) { card.remove(); return; }
      var label = card.querySelector("[data-time-left]");
      if (label) label.textContent = left < 60 ? left + " s left" : Math.floor(left / 60) + " min " + (left % 60) + " s left";
    });
    if (!list.querySelector("[data-expires-at]") && !list.querySelector("[data-empty]")) refresh();
  }

  function connect() {
    var ws = new WebSocket(url.href);
    var pinger = null;
    ws.onopen = function () {
      delay = 1000;
      pinger = setInterval(function () { ws.send("ping"); }, 30000);
    };
    ws.onmessage = function (event) {
      if (event.data === "pong") return;
      refresh();
    };
    ws.onclose = function () {
      if (pinger) clearInterval(pinger);
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 60000);
    };
  }

  setInterval(tick, 1000);
  connect();
})();
`;
