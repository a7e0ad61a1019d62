/**
 * The stores an integrator may replace (createProvider's `stores` option), as interfaces with
 * the guarantee each operation gives. edge-op's defaults implement them on Durable Objects, KV
 * and D1 (`DurableObjectBackchannelRequestStore`, `KvPushedAuthorizationRequestStore`,
 * `D1ClientStore`, `D1UserStore`); a replacement must give the same guarantees, which the store
 * conformance suite (test/conformance/) checks for every implementation.
 *
 * Words used below: *strongly consistent* — a write is seen by every later read, at every
 * location; *atomic* — the check and the change happen as one step, so two concurrent calls
 * cannot both see the state before it; *exactly once* — of any number of concurrent or later
 * calls for the same item, one succeeds.
 */
import type {
  BackchannelAuthenticationRequest,
  CompleteBackchannelLoginRequest,
  CompletionOutcome,
  PollOutcome,
} from "./ciba/model";
import type { Client } from "./clients/metadata";
import type { User } from "./users/user";

/**
 * What the backchannel endpoint decided about a new request; the store adds the ids, status and
 * bookkeeping. A ping or push request also carries the client_notification_token, which the
 * store must keep only encrypted.
 */
export type NewBackchannelRequest = Omit<
  BackchannelAuthenticationRequest,
  | "internalId"
  | "isComplete"
  | "status"
  | "notificationStatus"
  | "notificationAttempts"
  | "creationTime"
  | "deliverySecrets"
  | "clientDeliveryStatus"
  | "clientDeliveryAttempts"
  | "pushPayload"
> & { clientNotificationToken?: string };

/** The most unanswered, unexpired requests a user may have (CIBA_MAX_PENDING_PER_USER…). */
export interface PendingLimits {
  perUser: number;
  perUserAndClient: number;
}

export type CreateOutcome =
  | { created: true; authReqId: string; request: BackchannelAuthenticationRequest }
  | { created: false; reason: "too_many_pending" };

/**
 * BackchannelAuthenticationRequestStore (the seed's IBackChannelAuthenticationRequestStore).
 * Unlike the seed's get/update pair, each state change is one call (`pollBy…`, `completeBy…`)
 * that checks and changes the request atomically.
 *
 * The store also owns each request's life after `createRequest`: notifying the user through
 * the provider's notification service (with retries), delivering the result to a ping or push
 * client, and forgetting the request once it has expired (after CIBA_EXPIRED_GRACE). The
 * default runs all of it in the request's own Durable Object and its alarm.
 */
export interface BackchannelAuthenticationRequestStore {
  /**
   * Stores a new request and returns its auth_req_id (256 random bits, shown once, to the client;
   * stored only hashed) and the record. When the user already has `limits` pending requests it
   * stores nothing and returns `too_many_pending`; the count and the insert are atomic, so of
   * many concurrent requests at most the limit are created, and a refused one never notifies.
   *
   * `admit`, when given, is a check the caller needs to pass too (bc-authorize's per-user rate
   * limit). The store may run it alongside its own first round trip, but creates nothing and
   * notifies nobody unless it resolves; if it throws, the store leaves no trace of the request
   * and throws that error (before any `too_many_pending`).
   */
  createRequest(
    input: NewBackchannelRequest,
    limits: PendingLimits,
    admit?: () => Promise<void>,
  ): Promise<CreateOutcome>;

  /**
   * The user's pending, unexpired requests (optionally from one client), oldest first. May lag
   * an answer by a moment (a request just answered can still be listed); every state change
   * re-checks, so a listed request cannot be answered twice.
   */
  getLoginsForUser(subject: string, clientId?: string): Promise<BackchannelAuthenticationRequest[]>;

  /** Strongly consistent read by the client's handle; undefined for anything not issued here. */
  getByAuthenticationRequestId(authReqId: string): Promise<BackchannelAuthenticationRequest | undefined>;

  /** Strongly consistent read by the user-facing id; undefined for anything not issued here. */
  getByInternalId(internalId: string): Promise<BackchannelAuthenticationRequest | undefined>;

  /** Deletes the request; later reads and polls find nothing. */
  removeByInternalId(internalId: string): Promise<void>;

  /**
   * Replaces the descriptive fields only (the seed's UpdateByInternalIdAsync); false if there is
   * no such request. Never changes the state: that is poll's and complete's job.
   */
  updateByInternalId(
    internalId: string,
    changes: Pick<BackchannelAuthenticationRequest, "description" | "bindingMessage">,
  ): Promise<boolean>;

  /**
   * The token endpoint's question (CIBA §11), answered atomically in this order: invalid_grant
   * (unknown, another client's, already used, a push request) → slow_down (polled faster than
   * the interval, which then grows by 5 s) → expired_token → access_denied →
   * authorization_pending → approved. `approved` consumes the request: exactly once.
   */
  pollByAuthenticationRequestId(authReqId: string, clientId: string): Promise<PollOutcome>;

  /**
   * Records the user's answer atomically: exactly once per request, only by its subject, only
   * before expiry, only with requested scopes. The request then leaves the pending list.
   */
  completeByInternalId(completion: CompleteBackchannelLoginRequest): Promise<CompletionOutcome>;
}

/** The seed's PushedAuthorizationRequest. */
export interface PushedAuthorizationRequest {
  /** SHA-256 (hex) of the reference in `urn:ietf:params:oauth:request_uri:<reference>`. */
  referenceValueHash: string;
  /** Epoch seconds: the request_uri must reach /authorize before then. */
  expiresAtUtc: number;
  /** The pushed parameters as a query string. */
  parameters: string;
  /** The client that pushed it: the only one that may use it. */
  clientId: string;
}

/**
 * PushedAuthorizationRequestStore (the seed's IPushedAuthorizationRequestStore, RFC 9126).
 * Keyed by the hash of the request_uri's reference; the reference itself is never stored.
 */
export interface PushedAuthorizationRequestStore {
  /** Stores a pushed request. The parameters must be kept encrypted (they may hold PII). */
  store(request: PushedAuthorizationRequest): Promise<void>;

  /**
   * The request, or undefined if unknown, unreadable, already consumed, or expired. The first
   * read before `expiresAtUtc` opens it for the user's interaction (PAR_INTERACTION_LIFETIME):
   * sign-in and consent may outlast the request_uri's own short lifetime. Strongly consistent
   * about consumption: once `consumeByHash` succeeded anywhere, this returns undefined.
   * `clientId`, when given, is the client_id sent with the request_uri (RFC 9126 §4): a store
   * may use it to find the request where its fast copy lags (the default does; see
   * docs/reliability.md "KV lag"). It never makes another client's request readable.
   */
  getByHash(referenceValueHash: string, clientId?: string): Promise<PushedAuthorizationRequest | undefined>;

  /**
   * Marks the request used: exactly once, atomically, at every location. False when it had
   * already been consumed: the caller must then not produce an authorization response.
   */
  consumeByHash(request: PushedAuthorizationRequest): Promise<boolean>;
}

/** The registered clients. */
export interface ClientStore {
  /**
   * The client's registration, or undefined. Secrets appear only hashed (and, for
   * client_secret_jwt, encrypted). May serve a registration cached for up to
   * CLIENT_CACHE_SECONDS: a removed client or a replaced secret may take that long to apply.
   * Unknown clients must not be cached (a client registered now is found at once). Set
   * `client_id_issued_at` when the store knows it: tokens issued before it are then refused, so a
   * client registered again under a removed client's id does not inherit its tokens.
   */
  find(clientId: string): Promise<Client | undefined>;
}

/**
 * The users: whom the sign-in page, the CIBA user validator and /userinfo find. Every lookup is
 * an exact match on a unique value, strongly consistent with the store's own writes.
 */
export interface UserStore {
  findBySubject(sub: string): Promise<User | undefined>;
  findByUsername(username: string): Promise<User | undefined>;
  findByEmail(email: string): Promise<User | undefined>;
  findByPhoneNumber(phoneNumber: string): Promise<User | undefined>;
  /** A CIBA login_hint: a username, an e-mail address or a phone number, each unique. */
  findByLoginHint(hint: string): Promise<User | undefined>;
  /**
   * Replaces the user's user_code hash with `next` only if it is still `previous` (a legacy hash
   * being upgraded on its first right use), atomically: a code an operator changed meanwhile is
   * never overwritten.
   */
  replaceUserCodeHash(sub: string, previous: string, next: string): Promise<void>;
}
