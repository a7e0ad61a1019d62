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
] as const;

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
