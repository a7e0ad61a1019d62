/**
 * Typed settings, in one place. Each setting names its wrangler var, its default and what it
 * does; docs/configuration.md is generated from this table (`npm run docs:config`) and a test
 * keeps the two in step.
 */
import type { Bindings } from "./env";

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
  // OpenID Discovery §2 forbids a query or fragment. The Worker serves its routes at the root,
  // so the issuer is an origin: a path would make every endpoint URL in discovery wrong.
  if (!/^https?:$/.test(url.protocol) || url.pathname !== "/" || url.search || url.hash) {
    throw new ConfigurationError(`${variable} must be an http(s) origin such as https://id.example.com`);
  }
  return url.origin;
};

const spaceSeparated: Parse<string[]> = (raw) => raw.split(/\s+/).filter(Boolean);

function definition<T>(d: SettingDefinition<T>): SettingDefinition<T> {
  return d;
}

export const SETTINGS = {
  issuer: definition({
    variable: "ISSUER",
    default: "http://localhost:8787",
    description:
      "The provider's issuer identifier: the `iss` of every token and the origin of every endpoint URL. Set it to the public https origin when deploying.",
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
  maxRequestBodyBytes: definition({
    variable: "MAX_REQUEST_BODY_BYTES",
    default: "16384",
    description: "Largest form body accepted by any endpoint; larger bodies get 413.",
    parse: integer(1024, 1_048_576),
  }),
  jwksUriCacheSeconds: definition({
    variable: "JWKS_URI_CACHE_SECONDS",
    default: "300",
    description:
      "How long a client's `jwks_uri` document is reused before it is fetched again (an unknown `kid` triggers an early refetch).",
    parse: integer(0, 86_400),
  }),
  scopesSupported: definition({
    variable: "SCOPES_SUPPORTED",
    default: "openid profile email phone offline_access",
    description: "Space-separated scopes this provider knows; a client may only be given these.",
    parse: spaceSeparated,
  }),
};

export type Settings = {
  [K in keyof typeof SETTINGS]: (typeof SETTINGS)[K] extends SettingDefinition<infer T> ? T : never;
};

const cache = new WeakMap<object, Settings>();

/** Reads every setting from the bindings once per isolate, failing loudly on a bad value. */
export function loadSettings(env: Bindings): Settings {
  const cached = cache.get(env);
  if (cached) return cached;
  const values: Record<string, unknown> = {};
  for (const [key, def] of Object.entries(SETTINGS) as [string, SettingDefinition<unknown>][]) {
    const raw = env[def.variable];
    const text = typeof raw === "string" && raw.trim() !== "" ? raw : def.default;
    values[key] = def.parse(text, def.variable);
  }
  const settings = values as Settings;
  cache.set(env, settings);
  return settings;
}

/** The absolute URLs of this provider's endpoints, all under the issuer. */
export function endpoints(settings: Settings) {
  const base = settings.issuer;
  return {
    discovery: `${base}/.well-known/openid-configuration`,
    jwks: `${base}/jwks`,
    token: `${base}/token`,
    userinfo: `${base}/userinfo`,
  } as const;
}
