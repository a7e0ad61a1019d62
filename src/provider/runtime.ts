/**
 * One provider's options, resolved once, and the request context built from them. Everything a
 * request needs that depends only on the Worker's env (its bindings under edge-op's names, the
 * settings, the stores and services) is built once per env object and kept in a WeakMap owned
 * by this provider: the env of a Worker is the same object for every request an isolate serves,
 * so settings are parsed once per isolate rather than per request, and a test or a Worker that
 * passes another env object (other vars) gets its own, with nothing shared between the two.
 * Nothing is kept at module level: two providers in one Worker never share any of it.
 */

import { ConsentStore } from "../authorize/consent-store";
import { builtInNotificationService } from "../ciba/notifications";
import { DurableObjectBackchannelRequestStore } from "../ciba/request-store";
import { DefaultUserValidator } from "../ciba/user-validator";
import { JwksCache } from "../clients/jwks-cache";
import { type ClientCache, D1ClientStore } from "../clients/registry";
import { loadSettings, type Settings } from "../config";
import type { ProviderServices, ProviderStores, RequestContext } from "../context";
import { type DpopPolicies, dpopPolicies } from "../dpop/policies";
import type { Bindings } from "../env";
import { CibaDecisionStore } from "../logout/ciba-decisions";
import { SessionGrantStore } from "../logout/session-grants";
import { KvPushedAuthorizationRequestStore } from "../par/pushed-request-store";
import type { AuthorizationDetailsRegistry } from "../rar/details";
import { authorizationDetailsRegistry } from "../rar/registry";
import { endpointUrls, Routes } from "../routes";
import { SessionStore } from "../sessions/session-store";
import { type SigningKeyCache, SigningKeyStore } from "../tokens/key-store";
import { D1UserStore } from "../users/store";
import { DEFAULT_BINDING_NAMES, resolveBindings } from "./bindings";
import type { BindingNames, ProviderOptions, StoreContext } from "./options";

/** What a provider builds once per env object. */
interface EnvScope {
  env: Bindings;
  settings: Settings;
  stores: ProviderStores;
  services: ProviderServices;
  dpop: DpopPolicies;
  authorizationDetails: AuthorizationDetailsRegistry;
}

const REALM = /^[a-z0-9-]{1,32}$/;

export class ProviderRuntime<Env extends object> {
  readonly routes: Routes;
  readonly realm: string;
  readonly names: BindingNames;
  readonly pages: boolean;
  readonly interactionUrl: string | undefined;
  private readonly scopes = new WeakMap<object, EnvScope>();
  /** Client registrations, per D1 database (src/clients/registry.ts). */
  private readonly clientCaches = new WeakMap<object, ClientCache>();
  /** Signing keys stored in D1 (src/tokens/key-store.ts), per D1 database. */
  private readonly signingKeyCaches = new WeakMap<object, SigningKeyCache>();
  /** Clients' jwks_uri documents (src/clients/jwks-cache.ts). */
  private readonly jwks = new JwksCache();

  constructor(private readonly options: ProviderOptions<Env>) {
    this.routes = new Routes(options.basePath ?? "");
    this.realm = options.realm ?? "";
    if (this.realm !== "" && !REALM.test(this.realm)) {
      throw new TypeError(`realm must be 1 to 32 of a-z, 0-9 and -, got "${this.realm}"`);
    }
    this.names = { ...DEFAULT_BINDING_NAMES, ...options.bindings };
    this.pages = options.pages ?? true;
    this.interactionUrl = options.interactionUrl;
    if (!this.pages && !this.interactionUrl) {
      throw new TypeError("pages: false needs an interactionUrl, where /authorize sends the browser");
    }
  }

  /** The context of one request (or, without one, of work outside a request: an alarm, a test). */
  context(env: Env, request?: Request): RequestContext {
    const scope = this.scope(env);
    return {
      ...scope,
      request: request ?? new Request(endpointUrls(scope.settings.issuer).discovery),
      routes: this.routes,
      realm: this.realm,
      jwks: this.jwks,
    };
  }

  private scope(env: Env): EnvScope {
    const cached = this.scopes.get(env);
    if (cached) return cached;
    const bindings = resolveBindings(env, this.names, this.realm);
    const settings = this.settings(env, bindings);
    const storeContext: StoreContext = { settings, bindings, realm: this.realm };
    const scope: EnvScope = {
      env: bindings,
      settings,
      stores: this.stores(env, storeContext),
      services: this.services(env, bindings, settings),
      dpop: dpopPolicies(settings, bindings),
      authorizationDetails: authorizationDetailsRegistry(settings, this.options.authorizationDetailsTypes),
    };
    this.scopes.set(env, scope);
    return scope;
  }

  /** The settings, with the issuer identifier: ISSUER's origin plus the base path. */
  private settings(env: Env, bindings: Bindings): Settings {
    const given = this.options.settings;
    const overrides = typeof given === "function" ? given(env) : given;
    const settings = loadSettings(bindings, overrides);
    return { ...settings, issuer: `${settings.issuer}${this.routes.basePath}` };
  }

  private stores(env: Env, context: StoreContext): ProviderStores {
    const { settings, bindings } = context;
    const given = this.options.stores ?? {};
    return {
      backchannelRequests:
        given.backchannelRequests?.(env, context) ?? new DurableObjectBackchannelRequestStore(bindings),
      pushedRequests:
        given.pushedRequests?.(env, context) ??
        new KvPushedAuthorizationRequestStore(bindings, settings.parInteractionLifetime, this.realm),
      clients:
        given.clients?.(env, context) ??
        new D1ClientStore(bindings.DB, settings.clientCacheSeconds, this.clientCache(bindings.DB)),
      users: given.users?.(env, context) ?? new D1UserStore(bindings.DB),
      sessions: new SessionStore(bindings.DB),
      consents: new ConsentStore(bindings.DB),
      sessionGrants: new SessionGrantStore(bindings.DB, bindings),
      cibaDecisions: new CibaDecisionStore(bindings),
      signingKeys: new SigningKeyStore(
        bindings.DB,
        bindings.DATA_ENCRYPTION_KEY,
        settings.signingKeysCacheSeconds,
        this.signingKeyCache(bindings.DB),
      ),
    };
  }

  private services(env: Env, bindings: Bindings, settings: Settings): ProviderServices {
    const { userValidator, notificationService } = this.options.services ?? {};
    return {
      userValidator:
        typeof userValidator === "function"
          ? userValidator(env, settings)
          : (userValidator ?? new DefaultUserValidator()),
      notificationService: notificationService
        ? notificationService(env, settings)
        : builtInNotificationService(bindings, settings),
    };
  }

  private signingKeyCache(db: object): SigningKeyCache {
    let cache = this.signingKeyCaches.get(db);
    if (!cache) {
      cache = { until: 0 };
      this.signingKeyCaches.set(db, cache);
    }
    return cache;
  }

  private clientCache(db: object): ClientCache {
    let cache = this.clientCaches.get(db);
    if (!cache) {
      cache = new Map();
      this.clientCaches.set(db, cache);
    }
    return cache;
  }
}
