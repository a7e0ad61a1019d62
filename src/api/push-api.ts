/**
 * Web Push subscriptions of the signed-in user (issue 16, docs/authenticator-api.md):
 *   GET    /api/push/vapid-key       {"publicKey": "<base64url uncompressed P-256>"} (RFC 8292 §3.2)
 *   POST   /api/push/subscriptions   the browser's PushSubscription JSON → 201 {"id"}
 *   DELETE /api/push/subscriptions   {"endpoint"} → 204
 * The caller is the user, as for the authenticator API: a `ciba:approve` Bearer token, or the
 * session cookie, then with the CSRF token in `X-CSRF-Token` and an `application/json` body
 * (a cross-site page can neither read the token nor send that type without a preflight). The
 * subscription is stored sealed in the user's Durable Object (src/push/sealed-subscription.ts);
 * its endpoint must be https (RFC 8030 §8), loopback only in development.
 */
import type { Context, Hono } from "hono";
import { OAuthError } from "../errors";
import type { AppEnv } from "../http/app-env";
import { NO_STORE } from "../http/boundary";
import { route } from "../http/route";
import { sealSubscription, subscriptionId } from "../push/sealed-subscription";
import { parsePushEndpoint, parsePushSubscription } from "../push/subscription";
import { PATHS } from "../routes";
import { validCsrf } from "../ui/csrf";
import { userObjectName } from "../users/user-object";
import { type Caller, caller, jsonBody } from "./authenticator-api";

export function mountPushApi(app: Hono<AppEnv>): void {
  route(app, PATHS.pushVapidKey, { GET: vapidKey });
  route(app, PATHS.pushSubscriptions, { POST: subscribe, DELETE: unsubscribe });
}

/** Web Push is off unless CIBA_NOTIFICATION lists `webpush` and the key pair is set. */
function publicKeyOf(c: Context<AppEnv>): string {
  const { settings, env } = c.var.ctx;
  if (!settings.cibaNotification.includes("webpush") || !env.VAPID_PUBLIC_KEY) {
    throw new OAuthError("not_found", "Web Push is not enabled on this provider", 404);
  }
  return env.VAPID_PUBLIC_KEY;
}

async function vapidKey(c: Context<AppEnv>) {
  return c.json({ publicKey: publicKeyOf(c) }, 200, { "Cache-Control": "public, max-age=300" });
}

/** The user, and with a session cookie the CSRF token in its header (./push-api.ts's header). */
async function signedInUser(c: Context<AppEnv>): Promise<Caller> {
  const who = await caller(c);
  if (who.viaCookie && !(await validCsrf(c, c.req.header("x-csrf-token")))) {
    throw new OAuthError("invalid_request", "the X-CSRF-Token header is missing or wrong", 403);
  }
  return who;
}

async function userObject(c: Context<AppEnv>, subject: string) {
  const users = c.var.ctx.env.USERS;
  return users.get(users.idFromName(await userObjectName(subject)));
}

const policyOf = (c: Context<AppEnv>) => ({ allowLoopbackHttp: c.var.ctx.settings.allowHttpNotificationEndpoints });

/** A label the user recognises the device by: what the page says, else "Browser". */
function labelOf(value: unknown): string {
  return typeof value === "string" && value.trim() !== "" ? value.trim().slice(0, 64) : "Browser";
}

async function subscribe(c: Context<AppEnv>) {
  publicKeyOf(c);
  const who = await signedInUser(c);
  const body = await jsonBody(c, who.viaCookie);
  const parsed = await parsePushSubscription(body, policyOf(c));
  if (!parsed.ok) throw new OAuthError("invalid_request", parsed.error);
  const subject = who.user.subject;
  const sealed = await sealSubscription(c.var.ctx.env.DATA_ENCRYPTION_KEY, subject, parsed.value);
  const stub = await userObject(c, subject);
  const stored = await stub.putSubscription(
    { ...sealed, label: labelOf(body.label) },
    c.var.ctx.settings.pushMaxSubscriptionsPerUser,
  );
  if (!stored.stored) throw new OAuthError("invalid_request", stored.error);
  return c.json({ id: sealed.id }, 201, { ...NO_STORE });
}

async function unsubscribe(c: Context<AppEnv>) {
  publicKeyOf(c);
  const who = await signedInUser(c);
  const body = await jsonBody(c, who.viaCookie);
  // Any endpoint the policy accepts names at most one subscription; one never stored is fine.
  const endpoint = parsePushEndpoint(body.endpoint, policyOf(c));
  if (!endpoint.ok) throw new OAuthError("invalid_request", endpoint.error);
  const stub = await userObject(c, who.user.subject);
  await stub.removeSubscription(await subscriptionId(endpoint.value));
  return c.body(null, 204, { ...NO_STORE });
}
