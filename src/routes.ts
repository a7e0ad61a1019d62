/**
 * Every path edge-op serves, in one table: the app mounts its handlers from it, discovery and
 * the token minting build their URLs from it, and every page, link and redirect takes its path
 * from it. Paths are relative to the provider's base path (createProvider's `basePath`), so
 * mounting the provider under `/master` moves everything, the issuer included.
 */

export const PATHS = {
  /** OpenID Connect Discovery §4: the issuer, plus this. */
  discovery: "/.well-known/openid-configuration",
  jwks: "/jwks",
  token: "/token",
  backchannelAuthentication: "/bc-authorize",
  pushedAuthorizationRequest: "/par",
  authorization: "/authorize",
  userinfo: "/userinfo",
  signIn: "/signin",
  signOut: "/signout",
  /** The signed-in user's pending backchannel requests (the default after sign-in). */
  cibaRequests: "/ciba",
  /** One backchannel request, to approve or deny: the approval URL of a notification. */
  cibaRequest: "/ciba/requests/:internalId",
  /** The /ciba page's live updates: a WebSocket to the user's object (issue 16, src/ui/live.ts). */
  cibaLive: "/ciba/live",
  liveScript: "/assets/live.js",
  /** The authenticator-app API (docs/authenticator-api.md); also its RFC 8707 resource path. */
  authenticatorRequests: "/api/ciba/requests",
  authenticatorRequest: "/api/ciba/requests/:internalId",
  authenticatorApprove: "/api/ciba/requests/:internalId/approve",
  authenticatorDeny: "/api/ciba/requests/:internalId/deny",
  stylesheet: "/assets/app.css",
  /** OpenID RP-Initiated Logout 1.0: the end_session_endpoint (issue 15). */
  endSession: "/end-session",
  /** The signed-in user's account: the clients they granted, each withdrawable; recent CIBA decisions (issue 15). */
  account: "/account",
  accountWithdraw: "/account/clients/:clientId/withdraw",
  /** RFC 7662 token introspection (issue 15). */
  introspection: "/introspect",
  /** RFC 7009 token revocation (issue 15). */
  revocation: "/revoke",
  /** RFC 7591 dynamic client registration, and RFC 7592's client configuration endpoint (issue 15). */
  registration: "/register",
  registrationClient: "/register/:clientId",
  /** The administration console (issue 17, docs/admin-console.md): admins only, 403 for anyone else. */
  admin: "/admin",
  adminAudit: "/admin/audit",
  /** Passkey step-up of an admin session (src/ui/admin/step-up.tsx): the page, and its options. */
  adminStepUp: "/admin/step-up",
  adminStepUpOptions: "/admin/step-up/options",
  /** Deliveries (user notices, pings, pushes) that failed after their retries (issue 19). */
  adminDeliveries: "/admin/deliveries",
  adminClients: "/admin/clients",
  adminClientNew: "/admin/clients/new",
  adminClient: "/admin/clients/:clientId",
  adminClientEdit: "/admin/clients/:clientId/edit",
  adminClientDisable: "/admin/clients/:clientId/disable",
  adminClientRemove: "/admin/clients/:clientId/remove",
  adminCas: "/admin/cas",
  adminCaImport: "/admin/cas/import",
  adminCa: "/admin/cas/:caId",
  adminCaCertificate: "/admin/cas/:caId/certificate.pem",
  adminCertificates: "/admin/certificates",
  adminCertificate: "/admin/certificates/:certificateId",
  adminCertificatePem: "/admin/certificates/:certificateId/certificate.pem",
  adminCertificateAttach: "/admin/certificates/:certificateId/attach",
  adminCertificateRevoke: "/admin/certificates/:certificateId/revoke",
  adminUsers: "/admin/users",
  adminUser: "/admin/users/:sub",
  adminUserPassword: "/admin/users/:sub/password",
  adminUserCode: "/admin/users/:sub/user-code",
  adminUserDisable: "/admin/users/:sub/disable",
  adminKeys: "/admin/keys",
  adminKey: "/admin/keys/:kid",
  adminKeyRetire: "/admin/keys/:kid/retire",
  /** The console's JSON API (docs/admin-console.md): its prefix, and its routes. */
  adminApi: "/admin/api",
  adminApiClients: "/admin/api/clients",
  adminApiClient: "/admin/api/clients/:clientId",
  adminApiAudit: "/admin/api/audit",
  adminApiUsers: "/admin/api/users",
  adminApiUser: "/admin/api/users/:sub",
  adminApiUserDisable: "/admin/api/users/:sub/disable",
  adminApiUserPassword: "/admin/api/users/:sub/password",
  adminApiUserCode: "/admin/api/users/:sub/user-code",
  adminApiCas: "/admin/api/cas",
  adminApiCertificates: "/admin/api/certificates",
  adminApiCertificate: "/admin/api/certificates/:certificateId",
  adminApiCertificateAttach: "/admin/api/certificates/:certificateId/attach",
  adminApiCertificateRevoke: "/admin/api/certificates/:certificateId/revoke",
  adminApiKeys: "/admin/api/keys",
  adminApiKeyRetire: "/admin/api/keys/:kid/retire",
  /** The console's extra styles (wider tables and forms); public like the user pages' stylesheet. */
  adminStylesheet: "/assets/admin.css",
  /** Web Push (issue 16): the VAPID public key, and the signed-in user's subscriptions. */
  pushVapidKey: "/api/push/vapid-key",
  pushSubscriptions: "/api/push/subscriptions",
  /** The /ciba page as an installable app: its manifest, service worker and script. */
  webManifest: "/manifest.webmanifest",
  serviceWorker: "/sw.js",
  pushScript: "/assets/push.js",
  appIcon: "/assets/icon.svg",
  /** Passkeys (issue 16, src/ui/passkeys.tsx): the user's list, registration, removal, sign-in, step-up. */
  passkeys: "/passkeys",
  passkeyRegisterOptions: "/passkeys/register/options",
  passkeyRegister: "/passkeys/register",
  passkeyRemove: "/passkeys/:credentialId/remove",
  passkeySignInOptions: "/signin/passkey/options",
  passkeySignIn: "/signin/passkey",
  passkeyStepUpOptions: "/ciba/requests/:internalId/passkey-options",
  /** Step-up options for approving a phr authorization request; its query is the /authorize request's. */
  passkeyAuthorizeStepUpOptions: "/authorize/passkey-options",
  passkeyScript: "/assets/passkeys.js",
} as const;

export type RouteName = keyof typeof PATHS;

/** The parameters a route's path names (`:internalId`). */
type ParamsOf<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? { [K in Name]: string } & ParamsOf<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? { [K in Name]: string }
    : Record<never, string>;

export type RouteParams<N extends RouteName> = ParamsOf<(typeof PATHS)[N]>;

/** A base path: empty, or `/` and segments without a trailing slash (`/master`, `/realms/a`). */
const BASE_PATH = /^(\/[A-Za-z0-9._~-]+)*$/;

export function isBasePath(value: string): boolean {
  return BASE_PATH.test(value);
}

/** The routes of one provider, under its base path. */
export class Routes {
  constructor(readonly basePath = "") {
    if (!isBasePath(basePath)) {
      throw new TypeError(`basePath must be "" or like "/master" (no trailing slash), got "${basePath}"`);
    }
  }

  /** The route's pattern as the app registers it, relative to the base path (`/ciba/requests/:internalId`). */
  pattern(name: RouteName): string {
    return PATHS[name];
  }

  /** The path a browser or client uses, base path included, parameters filled in and encoded. */
  path<N extends RouteName>(name: N, ...params: keyof RouteParams<N> extends never ? [] : [RouteParams<N>]): string {
    const values: Record<string, string> = params[0] ?? {};
    const filled = PATHS[name].replace(/:([A-Za-z]+)/g, (_, key: string) => encodeURIComponent(values[key] ?? ""));
    return `${this.basePath}${filled}`;
  }

  /** Whether a path (without query) lies under this provider's base path. */
  contains(path: string): boolean {
    return this.basePath === "" || path === this.basePath || path.startsWith(`${this.basePath}/`);
  }
}

/**
 * The absolute URLs of this provider's endpoints. `issuer` is the provider's issuer identifier,
 * its origin plus the base path, so each URL is the issuer plus the route's path.
 */
export function endpointUrls(issuer: string) {
  return {
    discovery: `${issuer}${PATHS.discovery}`,
    jwks: `${issuer}${PATHS.jwks}`,
    token: `${issuer}${PATHS.token}`,
    backchannelAuthentication: `${issuer}${PATHS.backchannelAuthentication}`,
    signIn: `${issuer}${PATHS.signIn}`,
    pushedAuthorizationRequest: `${issuer}${PATHS.pushedAuthorizationRequest}`,
    authorization: `${issuer}${PATHS.authorization}`,
    userinfo: `${issuer}${PATHS.userinfo}`,
    authenticatorRequests: `${issuer}${PATHS.authenticatorRequests}`,
    endSession: `${issuer}${PATHS.endSession}`,
    introspection: `${issuer}${PATHS.introspection}`,
    revocation: `${issuer}${PATHS.revocation}`,
    registration: `${issuer}${PATHS.registration}`,
  } as const;
}

/** A request's approval page (the approval URL sent to the user). */
export function approvalUrl(issuer: string, internalId: string): string {
  return `${issuer}${PATHS.cibaRequest.replace(":internalId", encodeURIComponent(internalId))}`;
}
