/**
 * A provider's bindings under edge-op's own names: what wrangler.toml and the secrets give every
 * request. A Worker may call them otherwise (createProvider's `bindings`); the provider resolves
 * them into this shape once per env (src/provider/bindings.ts). Settings are read from these
 * strings in one place, src/config.ts.
 */
import type { AuthorizationCodeObject } from "./authorize/code-object";
import type { BackchannelRequestObjectApi } from "./ciba/request-object-api";
import type { UserCodeAttempts } from "./ciba/user-code-attempts";
import type { LogoutDelivery } from "./logout/delivery-object";
import type { ReplayGuard } from "./replay/replay-guard";
import type { RefreshTokenFamily } from "./tokens/refresh-token-family";
import type { UserObject } from "./users/user-object";

export interface Bindings {
  DB: D1Database;
  PAR_REQUESTS: KVNamespace;
  REPLAY_GUARD: DurableObjectNamespace<ReplayGuard>;
  BACKCHANNEL_REQUESTS: DurableObjectNamespace<BackchannelRequestObjectApi>;
  REFRESH_TOKENS: DurableObjectNamespace<RefreshTokenFamily>;
  /** Sign-in attempts per username, and per client address (Workers rate limiting). */
  SIGNIN_BY_USERNAME: RateLimit;
  SIGNIN_BY_ADDRESS: RateLimit;
  /** Pushed authorization requests per client (RFC 9126 §2.3: 429 when exceeded). */
  PAR_BY_CLIENT: RateLimit;
  /** Backchannel authentication requests per client and per target user (429 when exceeded). */
  CIBA_BY_CLIENT: RateLimit;
  CIBA_BY_USER: RateLimit;
  AUTHORIZATION_CODES: DurableObjectNamespace<AuthorizationCodeObject>;
  /** Wrong CIBA user_codes, per user and per client (src/ciba/user-code-attempts.ts). */
  USER_CODE_ATTEMPTS: DurableObjectNamespace<UserCodeAttempts>;
  /** One object per user (src/users/user-object.ts): pending CIBA requests, push subscriptions, live /ciba pages. */
  USERS: DurableObjectNamespace<UserObject>;
  /** One object per (session, client) logout-token delivery (src/logout/delivery-object.ts). */
  LOGOUT_DELIVERIES: DurableObjectNamespace<LogoutDelivery>;

  // Plain settings (wrangler vars); all optional except ISSUER.
  ISSUER: string;
  ACCESS_TOKEN_TTL?: string;
  ID_TOKEN_TTL?: string;
  REFRESH_TOKEN_TTL?: string;
  CLIENT_ASSERTION_MAX_LIFETIME?: string;
  JWT_CLOCK_TOLERANCE?: string;
  MAX_REQUEST_BODY_BYTES?: string;
  JWKS_URI_CACHE_SECONDS?: string;
  JWKS_URI_STALE_SECONDS?: string;
  CLIENT_CACHE_SECONDS?: string;
  SIGNING_KEYS_CACHE_SECONDS?: string;
  SCOPES_SUPPORTED?: string;
  SESSION_TTL?: string;
  ADMIN_IDLE_TIMEOUT?: string;
  MTLS_ENDPOINT_ORIGIN?: string;
  TRUST_CLIENT_CERT_HEADER?: string;
  TRUST_CF_TLS_CLIENT_AUTH?: string;
  PAR_LIFETIME?: string;
  PAR_INTERACTION_LIFETIME?: string;
  REQUIRE_PUSHED_AUTHORIZATION_REQUESTS?: string;
  PAR_ALLOW_UNREGISTERED_REDIRECT_URI?: string;
  AUTHORIZATION_CODE_TTL?: string;
  CIBA_REQUEST_LIFETIME?: string;
  CIBA_POLLING_INTERVAL?: string;
  CIBA_EXPIRED_GRACE?: string;
  BINDING_MESSAGE_MAX_LENGTH?: string;
  BINDING_MESSAGE_PATTERN?: string;
  LOGIN_HINT_TOKEN_ISSUERS?: string;
  CIBA_NOTIFICATION?: string;
  CIBA_WEBHOOK_URL?: string;
  CIBA_WEBHOOK_MAX_ATTEMPTS?: string;
  CIBA_CLIENT_NOTIFICATION_MAX_ATTEMPTS?: string;
  CIBA_CLIENT_NOTIFICATION_TIMEOUT?: string;
  BACKCHANNEL_LOGOUT_MAX_ATTEMPTS?: string;
  BACKCHANNEL_LOGOUT_TIMEOUT?: string;
  ALLOW_HTTP_NOTIFICATION_ENDPOINTS?: string;
  USER_CODE_MAX_FAILURES?: string;
  USER_CODE_CLIENT_MAX_FAILURES?: string;
  USER_CODE_LOCKOUT?: string;
  CIBA_MAX_PENDING_PER_USER?: string;
  CIBA_MAX_PENDING_PER_USER_AND_CLIENT?: string;
  DPOP_SIGNING_ALG_VALUES?: string;
  DPOP_PROOF_MAX_AGE?: string;
  DPOP_REQUIRE_NONCE?: string;
  DPOP_NONCE_WINDOW?: string;
  VAPID_SUBJECT?: string;
  PUSH_MAX_SUBSCRIPTIONS_PER_USER?: string;
  PUSH_TIMEOUT?: string;
  AUTHORIZATION_DETAILS_TYPES?: string;
  AUTHORIZATION_DETAILS_BUILTIN_TYPES?: string;
  AUTHORIZATION_DETAILS_MAX_LENGTH?: string;

  // Secrets.
  /** JSON `{"keys": [private JWK, …]}`; the first key signs (until a console key does), all are published. */
  SIGNING_KEYS?: string;
  /** base64url of 32 random bytes: AES-256-GCM key for data encrypted at rest. */
  DATA_ENCRYPTION_KEY?: string;
  /** HMAC-SHA256 key for the `webhook` notifier's signature header. */
  CIBA_WEBHOOK_SECRET?: string;
  /** Web Push (RFC 8292): base64url uncompressed P-256 point, served at /api/push/vapid-key. */
  VAPID_PUBLIC_KEY?: string;
  /** Web Push (RFC 8292): base64url of the private scalar `d`. */
  VAPID_PRIVATE_KEY?: string;
}
