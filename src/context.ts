/**
 * What every protocol step receives besides its input, and the contracts of the services an
 * integrator may replace. The provider (src/provider/) builds one RequestContext per request
 * from its options, so protocol code never builds a store or picks a service itself, and can be
 * called (and tested) without HTTP. The two seed services are here rather than beside their
 * defaults because each refers to the context and the context carries them.
 */
import type { ConsentStore } from "./authorize/consent-store";
import type { JwksCache } from "./clients/jwks-cache";
import type { Client } from "./clients/metadata";
import type { Settings } from "./config";
import type { DpopPolicies } from "./dpop/policies";
import type { Bindings } from "./env";
import type { CibaDecisionStore } from "./logout/ciba-decisions";
import type { SessionGrantStore } from "./logout/session-grants";
import type { AuthorizationDetailsRegistry } from "./rar/details";
import type { StoredAuthorizationDetail } from "./rar/schema";
import type { Routes } from "./routes";
import type { SessionStore } from "./sessions/session-store";
import type {
  BackchannelAuthenticationRequestStore,
  ClientStore,
  PushedAuthorizationRequestStore,
  UserStore,
} from "./stores";
import type { SigningKeyStore } from "./tokens/key-store";

/**
 * The stores of one provider: the four its options may replace, and the D1 stores of the
 * built-in pages (browser sessions, remembered consent), which are its own.
 */
export interface ProviderStores {
  backchannelRequests: BackchannelAuthenticationRequestStore;
  pushedRequests: PushedAuthorizationRequestStore;
  clients: ClientStore;
  users: UserStore;
  sessions: SessionStore;
  consents: ConsentStore;
  /** Which grants each browser session was given (sign-out, the account page). */
  sessionGrants: SessionGrantStore;
  /** The user's recent answers to backchannel requests (the account page). */
  cibaDecisions: CibaDecisionStore;
  /** Signing keys added in the console (D1, cached per isolate); src/tokens/keys.ts combines them. */
  signingKeys: SigningKeyStore;
}

/** The seed's services, as one provider's options chose them. */
export interface ProviderServices {
  userValidator: BackchannelAuthenticationUserValidator;
  notificationService: BackchannelAuthenticationUserNotificationService;
}

export interface RequestContext {
  /**
   * The provider's bindings under edge-op's own names (DB, PAR_REQUESTS, …), whatever the
   * Worker calls them (createProvider's `bindings`); Durable Object names are scoped to the
   * provider's realm.
   */
  env: Bindings;
  settings: Settings;
  /** The incoming request, for headers (Authorization, DPoP, cf.tlsClientAuth). */
  request: Request;
  stores: ProviderStores;
  services: ProviderServices;
  routes: Routes;
  /** The provider's realm ("" for a lone provider): prefixes its KV keys and object names. */
  realm: string;
  /** The provider's cache of clients' (and trusted issuers') jwks_uri documents. */
  jwks: JwksCache;
  /** RFC 9449: how DPoP proofs are checked at /token, /par and the resource endpoints. */
  dpop: DpopPolicies;
  /** RFC 9396: the authorization_details types this provider accepts, their checks and texts. */
  authorizationDetails: AuthorizationDetailsRegistry;
}

// BackchannelAuthenticationUserValidator (CIBA §7.1).

export type UserHint =
  | { kind: "login_hint"; value: string }
  | { kind: "id_token_hint"; value: string }
  | { kind: "login_hint_token"; value: string };

export interface UserValidationContext {
  ctx: RequestContext;
  /** The authenticated client that sent the backchannel request. */
  client: Client;
  /** The one hint the request carried (CIBA §7.1: exactly one). */
  hint: UserHint;
  /** Sent only by clients that registered backchannel_user_code_parameter. */
  userCode?: string;
  bindingMessage?: string;
  requestedScopes: string[];
  acrValues: string[];
}

/**
 * Finds the user a backchannel request is for and checks the user_code. Throws the spec's
 * errors (src/errors.ts): UnknownUserId, ExpiredLoginHintToken, MissingUserCode,
 * InvalidUserCode, InvalidRequest for a malformed hint, or AccessDenied(…, 403) for a policy
 * refusal. Runs before the request exists: nothing is stored or notified when it throws.
 */
export interface BackchannelAuthenticationUserValidator {
  /** Returns the `sub` of the user to authenticate, or throws one of the CIBA §13 errors. */
  validateRequest(context: UserValidationContext): Promise<{ subject: string }>;
}

// BackchannelAuthenticationUserNotificationService.

/** What the user is asked to approve (the seed's BackchannelUserLoginRequest). */
export interface BackchannelUserLoginRequest {
  internalId: string;
  subject: string;
  clientId: string;
  clientName: string;
  bindingMessage?: string;
  requestedScopes: string[];
  requestedResourceIndicators: string[];
  authenticationContextReferenceClasses: string[];
  tenant?: string;
  idp?: string;
  /** Epoch seconds. */
  expiresAt: number;
  /** Where the user reviews and approves or denies the request (the provider's page). */
  approvalUrl: string;
  /** RFC 9396: the details the request asks the user to approve. */
  authorizationDetails: StoredAuthorizationDetail[];
  /**
   * RFC 9396 §3: each of `authorizationDetails` as the sentence the user approves, the text the
   * approval page shows ("Pay €42.00 to ACME Ltd, IBAN …8603"), in the same order.
   */
  authorizationDetailsText: string[];
}

/**
 * Tells the user that a client asks them to approve something. Called from the request's
 * alarm, at least once per request while it is open (a retry may repeat a notice): throw a
 * RetryableNotificationError for a failure worth retrying (network, 5xx, 429), which is retried
 * with backoff up to CIBA_WEBHOOK_MAX_ATTEMPTS; anything else thrown fails the notification at
 * once. Either way the failure is logged and the request records it (notificationStatus).
 */
export interface BackchannelAuthenticationUserNotificationService {
  sendLoginRequest(request: BackchannelUserLoginRequest): Promise<void>;
}
