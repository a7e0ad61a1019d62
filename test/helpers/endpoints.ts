import { PATHS } from "../../src/routes.ts";

/**
 * Every endpoint of the provider, for the property-based test that throws hostile input at all
 * of them. Each issue that adds an endpoint adds it here.
 */
export const ENDPOINTS = [
  "/.well-known/openid-configuration",
  "/jwks",
  "/token",
  "/userinfo",
  "/bc-authorize",
  "/par",
  "/api/ciba/requests",
  "/api/ciba/requests/0123/approve",
  "/introspect",
  "/revoke",
  "/register",
  "/register/0123",
] as const;

/** Server-rendered pages: their errors are HTML pages, but never a 5xx. */
export const PAGES = [
  "/signin",
  "/signout",
  "/ciba",
  "/ciba/requests/abc",
  "/assets/app.css",
  "/authorize",
  "/end-session",
  "/account",
  "/account/clients/abc/withdraw",
  // Passkeys (issue 16): the user's page and its JSON calls (session cookie and X-CSRF-Token).
  "/passkeys",
  "/passkeys/register/options",
  "/passkeys/register",
  "/passkeys/abc/remove",
  "/signin/passkey/options",
  "/signin/passkey",
  "/ciba/requests/abc/passkey-options",
  "/authorize/passkey-options",
  // The live /ciba page's WebSocket (without an Upgrade header: refused), Web Push devices.
  "/ciba/live",
  "/api/push/vapid-key",
  "/api/push/subscriptions",
  // The installable app's files.
  "/manifest.webmanifest",
  "/sw.js",
  // The console (issue 17): a user without the admin role is refused; its passkey step-up takes return_to.
  "/admin",
  "/admin/step-up",
  "/admin/users",
] as const;

/**
 * The console's pages, forms and JSON API (issue 17), every path of the route table under
 * /admin, for the fuzzing signed in as an admin. Path parameters name nothing that exists.
 */
export const ADMIN_PAGES: readonly string[] = Object.values(PATHS)
  .filter((path) => path === "/admin" || path.startsWith("/admin/"))
  .map((path) => path.replace(/:[A-Za-z]+/g, "abc"));

/** Parameter names the endpoints read, so random forms hit real code paths. */
export const PARAMETER_NAMES = [
  "grant_type",
  "scope",
  "client_id",
  "client_secret",
  "client_assertion",
  "client_assertion_type",
  "code",
  "refresh_token",
  "auth_req_id",
  "login_hint",
  "login_hint_token",
  "id_token_hint",
  "binding_message",
  "user_code",
  "requested_expiry",
  "client_notification_token",
  "request",
  "request_uri",
  "redirect_uri",
  "response_type",
  "state",
  "nonce",
  "code_challenge",
  "code_challenge_method",
  "code_verifier",
  "acr_values",
  "resource",
  "csrf",
  "username",
  "password",
  "action",
  "return_to",
  "decision",
  "prompt",
  "max_age",
  "response_mode",
] as const;

export const GRANT_TYPE_VALUES = [
  "client_credentials",
  "refresh_token",
  "authorization_code",
  "urn:openid:params:grant-type:ciba",
] as const;
