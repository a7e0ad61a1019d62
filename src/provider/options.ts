/**
 * createProvider's options and what it returns: the whole surface an integrator programs
 * against. Every option is optional; `createProvider()` is this repository's own Worker.
 */
import type { Hono } from "hono";
import type { AuthorizationCodeObject } from "../authorize/code-object";
import type { AuthorizationInteractionService } from "../authorize/interaction-service";
import type { BackchannelAuthenticationInteractionService } from "../ciba/interaction-service";
import type { defineBackchannelRequestObject } from "../ciba/request-object";
import type { UserCodeAttempts } from "../ciba/user-code-attempts";
import type { Settings, SettingsOverrides } from "../config";
import type {
  BackchannelAuthenticationUserNotificationService,
  BackchannelAuthenticationUserValidator,
  RequestContext,
} from "../context";
import type { Bindings } from "../env";
import type { AppEnv } from "../http/app-env";
import type { LogoutDelivery } from "../logout/delivery-object";
import type { AuthorizationDetailsTypeOption } from "../rar/custom-types";
import type { ReplayGuard } from "../replay/replay-guard";
import type { Routes } from "../routes";
import type {
  BackchannelAuthenticationRequestStore,
  ClientStore,
  PushedAuthorizationRequestStore,
  UserStore,
} from "../stores";
import type { RefreshTokenFamily } from "../tokens/refresh-token-family";
import type { UserObject } from "../users/user-object";

/**
 * The names under which the Worker's env holds what a provider needs. Each defaults to the
 * name in this repository's wrangler.toml (shown in brackets). Two providers (realms) in one
 * Worker need their own `db` and `backchannelRequests` at least; see `realm`.
 */
export interface BindingNames {
  /** D1: clients, users, sessions, consents, revoked grants, the pending-request index ["DB"]. */
  db: string;
  /** KV: pushed authorization requests ["PAR_REQUESTS"]. */
  parRequests: string;
  /** Durable Object namespace of the ReplayGuard class ["REPLAY_GUARD"]. */
  replayGuard: string;
  /** Durable Object namespace of this provider's BackchannelRequestObject class ["BACKCHANNEL_REQUESTS"]. */
  backchannelRequests: string;
  /** Durable Object namespace of the RefreshTokenFamily class ["REFRESH_TOKENS"]. */
  refreshTokens: string;
  /** Durable Object namespace of the AuthorizationCodeObject class ["AUTHORIZATION_CODES"]. */
  authorizationCodes: string;
  /** Durable Object namespace of the UserCodeAttempts class ["USER_CODE_ATTEMPTS"]. */
  userCodeAttempts: string;
  /** Durable Object namespace of the UserObject class, one object per user ["USERS"]. */
  users: string;
  /** Durable Object namespace of the LogoutDelivery class (back-channel logout retries) ["LOGOUT_DELIVERIES"]. */
  logoutDeliveries: string;
  /** Rate limit: sign-in attempts per username ["SIGNIN_BY_USERNAME"]. */
  signinByUsername: string;
  /** Rate limit: sign-in attempts per client address ["SIGNIN_BY_ADDRESS"]. */
  signinByAddress: string;
  /** Rate limit: pushed authorization requests per client ["PAR_BY_CLIENT"]. */
  parByClient: string;
  /** Rate limit: backchannel requests per client ["CIBA_BY_CLIENT"]. */
  cibaByClient: string;
  /** Rate limit: backchannel requests per target user ["CIBA_BY_USER"]. */
  cibaByUser: string;
  /** Secret: the private JWK set that signs tokens ["SIGNING_KEYS"]. Each realm should have its own. */
  signingKeys: string;
  /** Secret: the AES-256 key for data encrypted at rest, cookies and CSRF ["DATA_ENCRYPTION_KEY"]. */
  dataEncryptionKey: string;
  /** Secret: the HMAC key of the built-in webhook notifier ["CIBA_WEBHOOK_SECRET"]. */
  webhookSecret: string;
}

/** What a store factory is given besides the Worker's env. */
export interface StoreContext {
  settings: Settings;
  /** The provider's bindings under edge-op's own names (see BindingNames), realm-scoped. */
  bindings: Bindings;
  realm: string;
}

/**
 * Replacement stores, each a function of the Worker's env (called once per env object and
 * kept, not once per request). Each must keep its interface's guarantees (src/stores.ts) and
 * pass the store conformance suite. Omitted: the default on Durable Objects, KV and D1.
 */
export interface StoreOptions<Env> {
  backchannelRequests?: (env: Env, context: StoreContext) => BackchannelAuthenticationRequestStore;
  pushedRequests?: (env: Env, context: StoreContext) => PushedAuthorizationRequestStore;
  clients?: (env: Env, context: StoreContext) => ClientStore;
  users?: (env: Env, context: StoreContext) => UserStore;
}

/** The seed's replaceable services. Omitted: edge-op's defaults. */
export interface ServiceOptions<Env> {
  /**
   * Finds the user of a backchannel request (CIBA §7.1) and checks the user_code. An instance,
   * or a function of the Worker's env and the settings (called once per env object). Default:
   * DefaultUserValidator, on the provider's UserStore.
   */
  userValidator?:
    | BackchannelAuthenticationUserValidator
    | ((env: Env, settings: Settings) => BackchannelAuthenticationUserValidator);
  /**
   * Tells the user of a new backchannel request, from the request's Durable Object once it is
   * stored (retried from its alarm, with backoff, when it throws RetryableNotificationError).
   * Default: the built-in notifiers CIBA_NOTIFICATION lists (`log`, `webhook`, `webpush`).
   */
  notificationService?: (env: Env, settings: Settings) => BackchannelAuthenticationUserNotificationService;
}

export interface ProviderOptions<Env extends object = Record<string, unknown>> {
  /**
   * Settings given in code, on top of the wrangler vars and the defaults (docs/configuration.md
   * lists them by var; here they go by their key in src/config.ts, e.g. `cibaPollingInterval`,
   * in their parsed type). Checked exactly as the var would be. Or a function of the env.
   */
  settings?: SettingsOverrides | ((env: Env) => SettingsOverrides);
  /** The env's binding names, where they differ from wrangler.toml's (see BindingNames). */
  bindings?: Partial<BindingNames>;
  /**
   * Where the provider is mounted: "" (the root, the default) or a path such as "/master".
   * Every route is served under it, and the issuer identifier is ISSUER's origin plus it, so
   * discovery is at `<basePath>/.well-known/openid-configuration` (OpenID Discovery §4) and
   * every URL, redirect and link follows. Cookies are then `__Secure-` (not `__Host-`, which
   * needs Path=/) with Path=<basePath>.
   */
  basePath?: string;
  /**
   * A short name ([a-z0-9-], up to 32) for this provider when one Worker serves several
   * (realms). It prefixes the provider's KV keys, the names of its objects in shared Durable
   * Object namespaces and its cookie names, so a request_uri, code, refresh token or jti of one
   * realm is unknown in another, even for a client_id both have. Each realm needs its own D1
   * database, its own BackchannelRequestObject binding and its own signing keys; the other
   * namespaces and KV may be shared. Default "": today's keys and names, unprefixed.
   */
  realm?: string;
  services?: ServiceOptions<Env>;
  stores?: StoreOptions<Env>;
  /**
   * Rich authorization request types given in code (RFC 9396 §2.1), beside those the settings
   * declare (AUTHORIZATION_DETAILS_BUILTIN_TYPES, AUTHORIZATION_DETAILS_TYPES): per type, a
   * `validate` function that returns the detail to keep or a text saying why it is refused, and
   * a `render` function giving the sentence the user approves (on the consent and CIBA pages,
   * in the authenticator API and in user notices). Discovery lists them. A name given twice
   * (here or beside a setting's type) fails when the provider first serves a request.
   */
  authorizationDetailsTypes?: readonly AuthorizationDetailsTypeOption[];
  /**
   * The built-in pages (sign-in, sign-out, the CIBA request pages, consent) and their
   * stylesheet. Default true. With false, an integrator serves its own: /authorize sends the
   * browser to `interactionUrl`, and the pages use `provider.interaction(env)`.
   */
  pages?: boolean;
  /**
   * With `pages: false`: where /authorize sends the browser when the user must sign in or
   * consent, with `?return_to=<the authorization request's path and query>` (an absolute URL or
   * a path on this origin). The integrator's page signs the user in and answers the request
   * with `provider.interaction(env).authorization`.
   */
  interactionUrl?: string;
}

/** The Durable Object classes a Worker must export, under the names its wrangler.toml binds. */
export interface ProviderDurableObjects {
  /** This provider's own class (its alarm notifies through this provider's services). */
  BackchannelRequestObject: ReturnType<typeof defineBackchannelRequestObject>;
  ReplayGuard: typeof ReplayGuard;
  RefreshTokenFamily: typeof RefreshTokenFamily;
  AuthorizationCodeObject: typeof AuthorizationCodeObject;
  UserCodeAttempts: typeof UserCodeAttempts;
  UserObject: typeof UserObject;
  LogoutDelivery: typeof LogoutDelivery;
}

/** What an integrator's own pages use (see `pages`). */
export interface ProviderInteraction {
  /** List, show, approve and deny backchannel requests for the user the caller signed in. */
  backchannel: BackchannelAuthenticationInteractionService;
  /** Show and answer an authorization request (the `return_to` /authorize sent to `interactionUrl`). */
  authorization: AuthorizationInteractionService;
}

export interface Provider<Env extends object = Record<string, unknown>> {
  /** The Hono app: mount it in a larger app (`app.route("/", provider.app)`) or call `fetch`. */
  app: Hono<AppEnv>;
  /** The Worker's fetch handler: `export default provider` or `export default { fetch: provider.fetch }`. */
  fetch: (request: Request, env: Env, executionContext?: ExecutionContext) => Response | Promise<Response>;
  /** Export each from the Worker's main module under the class name its wrangler.toml binds. */
  durableObjects: ProviderDurableObjects;
  /** The services an integrator's own pages use, for the Worker's env. */
  interaction(env: Env): ProviderInteraction;
  /** This provider's routes (its base path, each path). */
  routes: Routes;
  /**
   * The context protocol code runs with, outside an HTTP request (tests, scripts, an
   * integrator's own routes). `request` defaults to a stand-in at the issuer.
   */
  context(env: Env, request?: Request): RequestContext;
}
