/**
 * Typed settings, in one place. Each setting names its wrangler var, its default and what it
 * does; docs/configuration.md is generated from this table (`npm run docs:config`), and CI's
 * `npm run docs:check` fails when the two differ.
 */
import { dpopSigningAlgorithms } from "./dpop/algorithms";
import type { Bindings } from "./env";
import { destinationProblem } from "./outbound/public-address";
import { parseTypeDefinitions } from "./rar/type-settings";

export class ConfigurationError extends Error {
  override name = "ConfigurationError";
}

type Parse<T> = (raw: string, variable: string) => T;

interface SettingDefinition<T> {
  variable: keyof Bindings & string;
  default: string;
  description: string;
  parse: Parse<T>;
}

function integer(min: number, max: number): Parse<number> {
  return (raw, variable) => {
    const value = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || value < min || value > max) {
      throw new ConfigurationError(`${variable} must be an integer from ${min} to ${max}, got "${raw}"`);
    }
    return value;
  };
}

const issuerUrl: Parse<string> = (raw, variable) => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigurationError(`${variable} must be an absolute URL, got "${raw}"`);
  }
  // OpenID Discovery §2 forbids a query or fragment. ISSUER is the origin only: a provider
  // mounted under a path (createProvider's `basePath`) adds it to make its issuer identifier.
  if (!/^https?:$/.test(url.protocol) || url.pathname !== "/" || url.search || url.hash) {
    throw new ConfigurationError(`${variable} must be an http(s) origin such as https://id.example.com`);
  }
  return url.origin;
};

const boolean: Parse<boolean> = (raw, variable) => {
  if (raw === "true") return true;
  if (raw === "false") return false;
  throw new ConfigurationError(`${variable} must be true or false, got "${raw}"`);
};

const spaceSeparated: Parse<string[]> = (raw) => raw.split(/\s+/).filter(Boolean);

const unicodePattern: Parse<RegExp> = (raw, variable) => {
  try {
    return new RegExp(raw, "u");
  } catch {
    throw new ConfigurationError(`${variable} is not a valid regular expression`);
  }
};

/** The notifiers CIBA_NOTIFICATION may list. */
export const NOTIFIERS = ["log", "webhook", "webpush"] as const;
export type Notifier = (typeof NOTIFIERS)[number];

/** A comma-separated list of notifiers (`webpush,log`), duplicates dropped, at least one. */
const notifierList: Parse<Notifier[]> = (raw, variable) => {
  const names = raw.split(",").map((name) => name.trim());
  const known = (name: string): name is Notifier => (NOTIFIERS as readonly string[]).includes(name);
  const unknown = names.filter((name) => !known(name));
  if (names.length === 0 || unknown.length > 0) {
    throw new ConfigurationError(
      `${variable} must be a comma-separated list, each one of ${NOTIFIERS.join(", ")}, got "${raw}"`,
    );
  }
  return [...new Set(names.filter(known))];
};

/** RFC 8292 §2.1: a contact for the push services, mailto: or https:. Empty: the issuer when it is https. */
const optionalVapidSubject: Parse<string | undefined> = (raw, variable) => {
  if (raw === "") return undefined;
  if (!/^mailto:[^\s@]+@[^\s@]+$/.test(raw) && !/^https:\/\/[^\s]+$/.test(raw)) {
    throw new ConfigurationError(`${variable} must be a mailto: or https: URI (RFC 8292 §2.1), got "${raw}"`);
  }
  return raw;
};

const optionalUrl: Parse<string | undefined> = (raw, variable) => {
  if (raw === "") return undefined;
  try {
    return new URL(raw).toString();
  } catch {
    throw new ConfigurationError(`${variable} must be an absolute URL`);
  }
};

/** The webhook carries approval URLs: https, or http on a loopback host (development). */
const optionalWebhookUrl: Parse<string | undefined> = (raw, variable) => {
  const url = optionalUrl(raw, variable);
  if (url === undefined) return undefined;
  const { protocol, hostname } = new URL(url);
  const loopback = ["localhost", "127.0.0.1", "[::1]"].includes(hostname);
  if (protocol !== "https:" && !(protocol === "http:" && loopback)) {
    throw new ConfigurationError(`${variable} must be an https URL (or http on localhost)`);
  }
  return url;
};

const optionalOrigin: Parse<string | undefined> = (raw, variable) => {
  if (raw === "") return undefined;
  const url = URL.parse(raw);
  if (url?.protocol !== "https:" || url.pathname !== "/" || url.search || url.hash) {
    throw new ConfigurationError(`${variable} must be an https origin such as https://mtls.id.example.com`);
  }
  return url.origin;
};

export interface TrustedIssuer {
  issuer: string;
  jwks_uri?: string;
  jwks?: { keys: Record<string, unknown>[] };
}

const trustedIssuers: Parse<TrustedIssuer[]> = (raw, variable) => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigurationError(`${variable} is not JSON`);
  }
  if (!Array.isArray(parsed)) throw new ConfigurationError(`${variable} must be a JSON array`);
  return parsed.map((entry: TrustedIssuer) => {
    if (typeof entry?.issuer !== "string" || (!entry.jwks_uri && !entry.jwks)) {
      throw new ConfigurationError(`${variable}: every entry needs issuer and jwks_uri or jwks`);
    }
    return entry;
  });
};

function definition<T>(d: SettingDefinition<T>): SettingDefinition<T> {
  return d;
}

export const SETTINGS = {
  issuer: definition({
    variable: "ISSUER",
    default: "http://localhost:8787",
    description:
      "The origin of the provider's issuer identifier: the `iss` of every token and the origin of every endpoint URL. A provider mounted under a base path (createProvider's `basePath`, docs/integration.md) has this origin plus that path as its issuer. Set it to the public https origin when deploying.",
    parse: issuerUrl,
  }),
  accessTokenTtl: definition({
    variable: "ACCESS_TOKEN_TTL",
    default: "600",
    description: "Lifetime of access tokens (JWT, RFC 9068), in seconds.",
    parse: integer(30, 86_400),
  }),
  idTokenTtl: definition({
    variable: "ID_TOKEN_TTL",
    default: "600",
    description: "Lifetime of ID tokens, in seconds.",
    parse: integer(30, 86_400),
  }),
  refreshTokenTtl: definition({
    variable: "REFRESH_TOKEN_TTL",
    default: "2592000",
    description: "Lifetime of a refresh token family, in seconds (30 days by default).",
    parse: integer(60, 31_536_000),
  }),
  clientAssertionMaxLifetime: definition({
    variable: "CLIENT_ASSERTION_MAX_LIFETIME",
    default: "3600",
    description:
      "Client assertions (`client_secret_jwt`, `private_key_jwt`) whose `exp` lies further ahead than this many seconds are refused, which bounds how long a `jti` must be remembered.",
    parse: integer(60, 86_400),
  }),
  jwtClockTolerance: definition({
    variable: "JWT_CLOCK_TOLERANCE",
    default: "10",
    description:
      "Clock difference tolerated in every JWT a client sends (client assertions, signed backchannel requests, request objects at `/par`), in seconds: `iat` and `nbf` up to this far in the future are accepted, and `exp` up to this far in the past. 10 to 60, as FAPI 2.0 §5.3.2.1 asks (accept 10 s ahead, refuse more than 60 s ahead). A `jti` is remembered until `exp` plus this tolerance (and a margin), so it cannot be replayed while still acceptable.",
    parse: integer(10, 60),
  }),
  maxRequestBodyBytes: definition({
    variable: "MAX_REQUEST_BODY_BYTES",
    default: "16384",
    description: "Largest form body accepted by any endpoint; larger bodies get 413.",
    parse: integer(1024, 1_048_576),
  }),
  clientCacheSeconds: definition({
    variable: "CLIENT_CACHE_SECONDS",
    default: "30",
    description:
      "How long each Worker isolate reuses a client's registration before reading D1 again. It saves a D1 query on every authenticated request (the biggest avoidable cost in the benchmark); in exchange, removing a client or replacing its secret takes up to this long to apply everywhere. 0 turns the cache off.",
    parse: integer(0, 3600),
  }),
  signingKeysCacheSeconds: definition({
    variable: "SIGNING_KEYS_CACHE_SECONDS",
    default: "60",
    description:
      "How long each Worker isolate reuses the signing keys stored in D1 (the console's keys, docs/admin-console.md) before reading them again, so signing and verifying tokens costs no D1 read per request. A key added in the console is published everywhere within this long, so it starts signing only after this plus the 300-second max-age of `/jwks`; a retired key may still sign in other isolates for up to this long. 0 reads D1 on every use.",
    parse: integer(0, 300),
  }),
  jwksUriCacheSeconds: definition({
    variable: "JWKS_URI_CACHE_SECONDS",
    default: "300",
    description:
      "How long a client's `jwks_uri` document is reused before it is fetched again (an unknown `kid` triggers an early refetch).",
    parse: integer(0, 86_400),
  }),
  jwksUriStaleSeconds: definition({
    variable: "JWKS_URI_STALE_SECONDS",
    default: "900",
    description:
      "While a client's `jwks_uri` cannot be fetched (network error, timeout, 5xx, 429; retried once), the keys it last answered with are still used for up to this many seconds after they went stale, so a brief outage of the client's server does not lock the client out. A document that answers (even with other keys, no keys or a 4xx) replaces them at once. The price: a key the client removed while its server was down stays usable that long. 0 turns this off.",
    parse: integer(0, 86_400),
  }),
  scopesSupported: definition({
    variable: "SCOPES_SUPPORTED",
    default: "openid profile email phone offline_access ciba:approve",
    description: "Space-separated scopes this provider knows; a client may only be given these.",
    parse: spaceSeparated,
  }),
  parLifetime: definition({
    variable: "PAR_LIFETIME",
    default: "60",
    description:
      "Lifetime of a pushed authorization request (`expires_in` of its `request_uri`), in seconds; under 600 as RFC 9126 and FAPI 2.0 advise. A client may register its own `par_request_lifetime`.",
    parse: integer(10, 599),
  }),
  parInteractionLifetime: definition({
    variable: "PAR_INTERACTION_LIFETIME",
    default: "900",
    description:
      "How long the user may take to sign in and consent once a pushed request has reached `/authorize` within its lifetime, in seconds. The `request_uri` lifetime only bounds the trip to `/authorize`; until the authorization response spends it, the opened request stays usable this long.",
    parse: integer(60, 3600),
  }),
  requirePushedAuthorizationRequests: definition({
    variable: "REQUIRE_PUSHED_AUTHORIZATION_REQUESTS",
    default: "false",
    description:
      "`true`: every authorization request must come through `/par` (RFC 9126 §5); `false`: only for clients that registered `require_pushed_authorization_requests`.",
    parse: boolean,
  }),
  parAllowUnregisteredRedirectUri: definition({
    variable: "PAR_ALLOW_UNREGISTERED_REDIRECT_URI",
    default: "false",
    description:
      "`true`: a client that authenticated at `/par` may push a `redirect_uri` it never registered (RFC 9126 §2.4). Off by default: every redirect URI must be registered.",
    parse: boolean,
  }),
  authorizationCodeTtl: definition({
    variable: "AUTHORIZATION_CODE_TTL",
    default: "60",
    description: "Lifetime of an authorization code, in seconds (at most 60).",
    parse: integer(5, 60),
  }),
  mtlsEndpointOrigin: definition({
    variable: "MTLS_ENDPOINT_ORIGIN",
    default: "",
    description:
      "The origin (e.g. `https://mtls.id.example.com`) of a hostname on which Cloudflare asks for client certificates; discovery lists the token, PAR, backchannel and userinfo endpoints there as `mtls_endpoint_aliases` (RFC 8705 §5). Empty: the aliases are the normal endpoints (certificates are requested on the main hostname). See docs/mtls.md.",
    parse: optionalOrigin,
  }),
  trustClientCertHeader: definition({
    variable: "TRUST_CLIENT_CERT_HEADER",
    default: "false",
    description:
      "Local development only: take the client certificate from the `Client-Cert` (RFC 9440) and `Client-Cert-Verified` headers set by the local mTLS proxy (`npm start -- --mtls`, `npm run mtls-proxy`), because `wrangler dev` cannot ask for one. Only headers that carry the proxy's proof (`Edge-Op-Client-Cert-Proof`, an HMAC keyed from DATA_ENCRYPTION_KEY) count. Refused unless ISSUER is a loopback origin and TRUST_CF_TLS_CLIENT_AUTH is `false`.",
    parse: boolean,
  }),
  trustCfTlsClientAuth: definition({
    variable: "TRUST_CF_TLS_CLIENT_AUTH",
    default: "true",
    description:
      "Believe the client certificate in `request.cf.tlsClientAuth`. `true` when deployed: only Cloudflare's edge sets it. `npm start` sets `false`, because the local runtime builds `request.cf` from an `MF-CF-Blob` header that any client can send; locally only the mTLS proxy's certificate counts (TRUST_CLIENT_CERT_HEADER). Set `false` for any `wrangler dev` you start yourself. See docs/mtls.md.",
    parse: boolean,
  }),
  sessionTtl: definition({
    variable: "SESSION_TTL",
    default: "28800",
    description:
      "How long a browser sign-in lasts, in seconds (8 hours by default). The session is kept server-side, so sign-out and expiry end it at once.",
    parse: integer(300, 2_592_000),
  }),
  adminIdleTimeout: definition({
    variable: "ADMIN_IDLE_TIMEOUT",
    default: "900",
    description:
      "How long an administrator's session may sit unused in the console (`/admin`) before it must sign in again, in seconds (15 minutes by default). Shorter than SESSION_TTL on purpose: a forgotten console tab is a bigger risk than a forgotten approval page. Dangerous actions (removing a client) also ask for the password again.",
    parse: integer(60, 28_800),
  }),
  cibaRequestLifetime: definition({
    variable: "CIBA_REQUEST_LIFETIME",
    default: "300",
    description:
      "Default lifetime of a backchannel authentication request (`expires_in`), in seconds. It is also the most a client may ask for with `requested_expiry`, unless the client registers its own `ciba_request_lifetime`.",
    parse: integer(10, 3600),
  }),
  cibaPollingInterval: definition({
    variable: "CIBA_POLLING_INTERVAL",
    default: "5",
    description:
      "Default minimum seconds between two token requests for one `auth_req_id` (the `interval` returned to poll and ping clients); a client may register its own `ciba_polling_interval`. Polling faster gets `slow_down` and adds 5 s to that request's interval.",
    parse: integer(1, 60),
  }),
  cibaExpiredGrace: definition({
    variable: "CIBA_EXPIRED_GRACE",
    default: "600",
    description:
      "How long an expired backchannel request is kept so that polls get `expired_token` rather than `invalid_grant`, in seconds. After that an alarm deletes it.",
    parse: integer(0, 86_400),
  }),
  bindingMessageMaxLength: definition({
    variable: "BINDING_MESSAGE_MAX_LENGTH",
    default: "64",
    description:
      "Longest `binding_message` accepted, in characters (Unicode code points). Longer ones get `invalid_binding_message`: it must fit on a phone's screen.",
    parse: integer(1, 1024),
  }),
  bindingMessagePattern: definition({
    variable: "BINDING_MESSAGE_PATTERN",
    default: "^[\\p{L}\\p{N}\\p{P}\\p{S} ]+$",
    description:
      "Regular expression (Unicode mode) a `binding_message` must match. The default allows letters, digits, punctuation, symbols and plain spaces, and refuses control characters, line breaks and invisible formatting characters.",
    parse: unicodePattern,
  }),
  loginHintTokenIssuers: definition({
    variable: "LOGIN_HINT_TOKEN_ISSUERS",
    default: "[]",
    description:
      'JSON array of the issuers trusted to sign a `login_hint_token`: `[{"issuer": "https://idp.example", "jwks_uri": "https://idp.example/jwks"}]` or with an inline `"jwks": {"keys": [...]}`. A `jwks_uri` here is held to the same rule as a client `jwks_uri` before each fetch (https, and no non-public IP-literal host: `ALLOW_HTTP_NOTIFICATION_ENDPOINTS`). The token names the user with `sub` (a subject of this provider) or a `sub_id` (RFC 9493) of format `email`, `phone_number` or `iss_sub`. Empty: `login_hint_token` is refused.',
    parse: trustedIssuers,
  }),
  cibaNotification: definition({
    variable: "CIBA_NOTIFICATION",
    default: "log",
    description:
      "How the user is told about a new backchannel request, a comma-separated list (each runs): `log` writes the approval URL to the Worker's log (the default); `webhook` POSTs a signed JSON notice to `CIBA_WEBHOOK_URL` (see docs/ciba.md); `webpush` sends an encrypted Web Push message (RFC 8030/8291/8292) to every device the user subscribed on `/ciba`, which needs the `VAPID_PUBLIC_KEY` and `VAPID_PRIVATE_KEY` secrets (`npm run admin -- keys vapid`). `npm start` uses `webpush,log`. A retryable failure of any notifier retries the notification, all of them again (a device shows a repeated push once: same tag).",
    parse: notifierList,
  }),
  vapidSubject: definition({
    variable: "VAPID_SUBJECT",
    default: "",
    description:
      "With `webpush`: the contact push services may use about edge-op's messages (RFC 8292 §2.1), a `mailto:` or `https:` URI. Empty: the issuer, when it is https; with an http issuer (local development) it must be set.",
    parse: optionalVapidSubject,
  }),
  pushMaxSubscriptionsPerUser: definition({
    variable: "PUSH_MAX_SUBSCRIPTIONS_PER_USER",
    default: "10",
    description:
      "Most Web Push subscriptions (devices) kept per user; subscribing one more evicts the oldest, since browsers rotate subscriptions and a dead one is noticed only at the next push.",
    parse: integer(1, 100),
  }),
  pushTimeout: definition({
    variable: "PUSH_TIMEOUT",
    default: "10",
    description:
      "How long one Web Push message may take to be accepted by the push service before it is abandoned (and retried), in seconds.",
    parse: integer(1, 30),
  }),
  cibaWebhookUrl: definition({
    variable: "CIBA_WEBHOOK_URL",
    default: "",
    description:
      "Where the `webhook` notifier POSTs new login requests: https, and never an IP-literal host in a loopback, private, link-local or other non-public range. A loopback host (over http too) only with `ALLOW_HTTP_NOTIFICATION_ENDPOINTS=true`, for development.",
    parse: optionalWebhookUrl,
  }),
  cibaWebhookMaxAttempts: definition({
    variable: "CIBA_WEBHOOK_MAX_ATTEMPTS",
    default: "5",
    description:
      "Attempts to deliver a webhook notice (network error or 5xx) before it is marked failed; retries back off 2, 4, 8, … seconds.",
    parse: integer(1, 10),
  }),
  cibaClientNotificationMaxAttempts: definition({
    variable: "CIBA_CLIENT_NOTIFICATION_MAX_ATTEMPTS",
    default: "5",
    description:
      "Attempts to deliver a ping or push to a client's `backchannel_client_notification_endpoint` (network error, timeout, 408, 429 or 5xx) before the delivery is marked failed; retries back off 2, 4, 8, … seconds. A 3xx (never followed), 401 or 403 ends the delivery at once.",
    parse: integer(1, 10),
  }),
  cibaClientNotificationTimeout: definition({
    variable: "CIBA_CLIENT_NOTIFICATION_TIMEOUT",
    default: "5",
    description: "How long one ping or push attempt may take before it is abandoned (and retried), in seconds.",
    parse: integer(1, 30),
  }),
  backchannelLogoutMaxAttempts: definition({
    variable: "BACKCHANNEL_LOGOUT_MAX_ATTEMPTS",
    default: "5",
    description:
      "Attempts to deliver a logout token to a client's `backchannel_logout_uri` (OpenID Back-Channel Logout 1.0; network error, timeout, 408, 429 or 5xx) before it is given up; retries back off 2, 4, 8, … seconds from a Durable Object alarm. A 3xx (never followed) or another 4xx ends the delivery at once. At most 6, so the last attempt (62 s after the first) still carries a logout token within its 120-second lifetime.",
    parse: integer(1, 6),
  }),
  backchannelLogoutTimeout: definition({
    variable: "BACKCHANNEL_LOGOUT_TIMEOUT",
    default: "5",
    description:
      "How long one logout-token delivery attempt may take before it is abandoned (and retried), in seconds.",
    parse: integer(1, 30),
  }),
  allowHttpNotificationEndpoints: definition({
    variable: "ALLOW_HTTP_NOTIFICATION_ENDPOINTS",
    default: "false",
    description:
      "Development only. `true`: a client's `backchannel_client_notification_endpoint`, `backchannel_logout_uri` and `jwks_uri` (and `CIBA_WEBHOOK_URL`) may be on a loopback host (`localhost`, `127.0.0.0/8`, `[::1]`), over plain http too. `false` (the default, and the only safe value when deployed): each must be https (CIBA §4) and its host not a loopback address. Either way an IP-literal host in a private, link-local, unique-local, CGNAT or other non-public range is refused, at registration, when a request is accepted and before each delivery or `jwks_uri` fetch; DNS names are not resolved (see docs/ciba.md).",
    parse: boolean,
  }),
  userCodeMaxFailures: definition({
    variable: "USER_CODE_MAX_FAILURES",
    default: "5",
    description:
      "Wrong CIBA `user_code`s allowed per user in a window of `USER_CODE_LOCKOUT` seconds that starts at the first wrong one, whatever client sends them. Then every request with a `user_code` for that user, the right one too, gets 429 `invalid_user_code` with `Retry-After` until the window ends. Counted in a Durable Object per user, so parallel guesses anywhere share one count.",
    parse: integer(1, 100),
  }),
  userCodeClientMaxFailures: definition({
    variable: "USER_CODE_CLIENT_MAX_FAILURES",
    default: "100",
    description:
      "Wrong CIBA `user_code`s allowed per client, across all users, in a window of `USER_CODE_LOCKOUT` seconds; then that client's requests with a `user_code` get 429 `invalid_user_code` with `Retry-After` until the window ends. Stops one client from spreading guesses over many users; raise it for a client that serves very many users.",
    parse: integer(1, 100_000),
  }),
  userCodeLockout: definition({
    variable: "USER_CODE_LOCKOUT",
    default: "900",
    description:
      "The window, in seconds, over which wrong `user_code`s are counted (it starts at the first wrong one), and so the longest a user or client stays locked out.",
    parse: integer(60, 86_400),
  }),
  cibaMaxPendingPerUser: definition({
    variable: "CIBA_MAX_PENDING_PER_USER",
    default: "20",
    description:
      "Most unanswered, unexpired backchannel requests one user may have from all clients together. One more gets 403 `access_denied` (CIBA §13: the OP denied the request) until one is answered or expires. Bounds what a flood can put on the user's list and phone: each request notifies the user, and every view of `/ciba` or the authenticator API shows each pending one (read in one call to the user's Durable Object).",
    parse: integer(1, 1000),
  }),
  cibaMaxPendingPerUserAndClient: definition({
    variable: "CIBA_MAX_PENDING_PER_USER_AND_CLIENT",
    default: "5",
    description:
      "Most unanswered, unexpired backchannel requests one user may have from one client; one more gets 403 `access_denied`. Keeps one client from using up the user's whole `CIBA_MAX_PENDING_PER_USER`.",
    parse: integer(1, 1000),
  }),
  dpopSigningAlgValues: definition({
    variable: "DPOP_SIGNING_ALG_VALUES",
    default: "ES256 PS256 EdDSA",
    description:
      "Space-separated JWS algorithms accepted for DPoP proofs (RFC 9449 §5.1 `dpop_signing_alg_values_supported`). Asymmetric algorithms only: `none` or an HMAC is a configuration error (§4.2).",
    parse: (raw, variable) => {
      try {
        return dpopSigningAlgorithms(spaceSeparated(raw, variable));
      } catch (error) {
        throw new ConfigurationError(`${variable}: ${error instanceof Error ? error.message : "invalid"}`);
      }
    },
  }),
  dpopProofMaxAge: definition({
    variable: "DPOP_PROOF_MAX_AGE",
    default: "60",
    description:
      "How old, by its `iat`, a DPoP proof may be, in seconds (RFC 9449 §11.1), plus `JWT_CLOCK_TOLERANCE`; a proof's `jti` is remembered (in the ReplayGuard Durable Object of its key) for as long as the proof could be accepted.",
    parse: integer(10, 300),
  }),
  dpopRequireNonce: definition({
    variable: "DPOP_REQUIRE_NONCE",
    default: "false",
    description:
      "`true`: every DPoP proof must carry a nonce this server provided (RFC 9449 §8, §9); a proof without a current one gets `use_dpop_nonce` and a `DPoP-Nonce` header. Nonces are stateless (an HMAC of the time window under a key derived from `DATA_ENCRYPTION_KEY`), so no storage is written per request. With `false`, nonces are still accepted and offered when a proof's `iat` is out of range.",
    parse: boolean,
  }),
  dpopNonceWindow: definition({
    variable: "DPOP_NONCE_WINDOW",
    default: "60",
    description:
      "Length in seconds of a DPoP nonce's time window: a nonce is accepted in its own window and the next, so for one to two windows (RFC 9449 §8).",
    parse: integer(30, 600),
  }),
  authorizationDetailsTypes: definition({
    variable: "AUTHORIZATION_DETAILS_TYPES",
    default: "[]",
    description:
      'Rich authorization request types (RFC 9396 §2.1) this deployment accepts besides the built-in ones, as a JSON array of `{"type", "label"?, "fields"}` in the schema language of src/rar/schema.ts (docs/fapi.md has an example). An `authorization_details` entry of any other type is refused with `invalid_authorization_details`. Checked when the provider starts: a typo in a field spec is a configuration error.',
    parse: (raw, variable) => {
      try {
        return parseTypeDefinitions(raw);
      } catch (error) {
        throw new ConfigurationError(`${variable}: ${error instanceof Error ? error.message : "invalid"}`);
      }
    },
  }),
  authorizationDetailsBuiltinTypes: definition({
    variable: "AUTHORIZATION_DETAILS_BUILTIN_TYPES",
    default: "",
    description:
      'Space-separated built-in rich authorization request types to accept: `payment_initiation` (an amount, a payee and an IBAN, shown to the user as "Pay €42.00 to ACME Ltd, IBAN …1234"). Empty by default; `npm start` turns `payment_initiation` on.',
    parse: (raw, variable) => {
      const names = spaceSeparated(raw, variable);
      const unknown = names.filter(
        (name) => !(BUILTIN_AUTHORIZATION_DETAILS_TYPES as readonly string[]).includes(name),
      );
      if (unknown.length > 0) {
        throw new ConfigurationError(
          `${variable}: unknown type ${unknown[0]}; built in: ${BUILTIN_AUTHORIZATION_DETAILS_TYPES.join(", ")}`,
        );
      }
      return [...new Set(names)];
    },
  }),
  authorizationDetailsMaxLength: definition({
    variable: "AUTHORIZATION_DETAILS_MAX_LENGTH",
    default: "8192",
    description: "Longest `authorization_details` parameter accepted, in characters of its JSON (RFC 9396).",
    parse: integer(256, 65_536),
  }),
};

/** The rich authorization request types edge-op ships (src/rar/), by name. */
export const BUILTIN_AUTHORIZATION_DETAILS_TYPES = ["payment_initiation"] as const;

export type Settings = {
  [K in keyof typeof SETTINGS]: (typeof SETTINGS)[K] extends SettingDefinition<infer T> ? T : never;
};

/**
 * Settings given in code (createProvider's `settings`), by setting name, in their parsed type
 * (`{ cibaPollingInterval: 2 }`). They take the place of the wrangler var of the same setting
 * and are checked exactly as that var would be.
 */
export type SettingsOverrides = Partial<Settings>;

/** A parsed value back in the text form its wrangler var takes, so an override is checked like a var. */
function asVariableText(value: unknown): string {
  if (value === undefined) return "";
  if (value instanceof RegExp) return value.source;
  if (Array.isArray(value) && value.every((item) => typeof item === "string")) return value.join(" ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/**
 * Reads every setting: an override, else the wrangler var, else the default; fails loudly on a
 * bad value. Pure: the provider keeps the result per env (src/provider/runtime.ts).
 */
export function loadSettings(env: Partial<Bindings>, overrides: SettingsOverrides = {}): Settings {
  const values: Record<string, unknown> = {};
  const given: Record<string, unknown> = overrides;
  for (const [key, def] of Object.entries(SETTINGS) as [string, SettingDefinition<unknown>][]) {
    const raw = Object.hasOwn(given, key) ? asVariableText(given[key]) : env[def.variable];
    const text = typeof raw === "string" && raw.trim() !== "" ? raw.trim() : def.default;
    values[key] = def.parse(text, def.variable);
  }
  const settings = values as Settings;
  if (settings.trustClientCertHeader && !/^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(settings.issuer)) {
    throw new ConfigurationError("TRUST_CLIENT_CERT_HEADER may only be true for a loopback ISSUER (local development)");
  }
  // Where the proxy's header is trusted, the runtime is the local one, whose request.cf any client can forge.
  if (settings.trustClientCertHeader && settings.trustCfTlsClientAuth) {
    throw new ConfigurationError(
      "TRUST_CLIENT_CERT_HEADER=true needs TRUST_CF_TLS_CLIENT_AUTH=false (local development)",
    );
  }
  // Checklist S3, as for client notification endpoints: no loopback, private or link-local
  // address literal, and loopback only with the development switch.
  const webhookProblem = settings.cibaWebhookUrl
    ? destinationProblem(new URL(settings.cibaWebhookUrl), settings.allowHttpNotificationEndpoints)
    : undefined;
  if (webhookProblem) throw new ConfigurationError(`CIBA_WEBHOOK_URL ${webhookProblem}`);
  // Push services refuse a message without a reachable contact (RFC 8292 §2.1).
  if (
    settings.cibaNotification.includes("webpush") &&
    !settings.vapidSubject &&
    !settings.issuer.startsWith("https:")
  ) {
    throw new ConfigurationError(
      "CIBA_NOTIFICATION=webpush with an http ISSUER needs VAPID_SUBJECT (mailto: or https:)",
    );
  }
  return settings;
}
