/**
 * From the Worker's env to a provider's bindings, in one function: the names a Worker chose
 * (createProvider's `bindings`) become edge-op's own (Bindings, src/env.ts), each checked to be
 * there and of the right kind, and the Durable Object namespaces a realm may share with other
 * realms are scoped to it.
 */
import { ConfigurationError } from "../config";
import type { Bindings } from "../env";
import type { BindingNames } from "./options";

export const DEFAULT_BINDING_NAMES: BindingNames = {
  db: "DB",
  parRequests: "PAR_REQUESTS",
  replayGuard: "REPLAY_GUARD",
  backchannelRequests: "BACKCHANNEL_REQUESTS",
  refreshTokens: "REFRESH_TOKENS",
  authorizationCodes: "AUTHORIZATION_CODES",
  userCodeAttempts: "USER_CODE_ATTEMPTS",
  users: "USERS",
  logoutDeliveries: "LOGOUT_DELIVERIES",
  signinByUsername: "SIGNIN_BY_USERNAME",
  signinByAddress: "SIGNIN_BY_ADDRESS",
  parByClient: "PAR_BY_CLIENT",
  cibaByClient: "CIBA_BY_CLIENT",
  cibaByUser: "CIBA_BY_USER",
  signingKeys: "SIGNING_KEYS",
  dataEncryptionKey: "DATA_ENCRYPTION_KEY",
  webhookSecret: "CIBA_WEBHOOK_SECRET",
};

type Kind = "d1" | "kv" | "namespace" | "ratelimit" | "secret";

/** Each of edge-op's bindings: its name in Bindings, the option that renames it, its kind. */
const BINDINGS: readonly [keyof Bindings & string, keyof BindingNames, Kind][] = [
  ["DB", "db", "d1"],
  ["PAR_REQUESTS", "parRequests", "kv"],
  ["REPLAY_GUARD", "replayGuard", "namespace"],
  ["BACKCHANNEL_REQUESTS", "backchannelRequests", "namespace"],
  ["REFRESH_TOKENS", "refreshTokens", "namespace"],
  ["AUTHORIZATION_CODES", "authorizationCodes", "namespace"],
  ["USER_CODE_ATTEMPTS", "userCodeAttempts", "namespace"],
  ["USERS", "users", "namespace"],
  ["LOGOUT_DELIVERIES", "logoutDeliveries", "namespace"],
  ["SIGNIN_BY_USERNAME", "signinByUsername", "ratelimit"],
  ["SIGNIN_BY_ADDRESS", "signinByAddress", "ratelimit"],
  ["PAR_BY_CLIENT", "parByClient", "ratelimit"],
  ["CIBA_BY_CLIENT", "cibaByClient", "ratelimit"],
  ["CIBA_BY_USER", "cibaByUser", "ratelimit"],
  ["SIGNING_KEYS", "signingKeys", "secret"],
  ["DATA_ENCRYPTION_KEY", "dataEncryptionKey", "secret"],
  ["CIBA_WEBHOOK_SECRET", "webhookSecret", "secret"],
];

/** The namespaces several realms may share: their objects are named, so a realm prefix separates them. */
const SHARED_NAMESPACES: readonly (keyof Bindings)[] = [
  "REPLAY_GUARD",
  "REFRESH_TOKENS",
  "AUTHORIZATION_CODES",
  "USER_CODE_ATTEMPTS",
  "USERS",
  "LOGOUT_DELIVERIES",
];

function hasMethods(value: unknown, ...names: string[]): boolean {
  return (
    typeof value === "object" &&
    value !== null &&
    names.every((name) => typeof (value as Record<string, unknown>)[name] === "function")
  );
}

const CHECKS: Record<Kind, (value: unknown) => boolean> = {
  d1: (value) => hasMethods(value, "prepare", "batch"),
  kv: (value) => hasMethods(value, "get", "put", "delete"),
  namespace: (value) => hasMethods(value, "idFromName", "idFromString", "get"),
  ratelimit: (value) => hasMethods(value, "limit"),
  secret: (value) => value === undefined || typeof value === "string",
};

/**
 * A provider's bindings from the Worker's env. With today's names and no realm that is the env
 * itself; otherwise a copy of the env (its vars included) with edge-op's names added. Throws a
 * ConfigurationError naming a binding that is missing or of the wrong kind; a missing secret is
 * reported where it is first needed.
 */
export function resolveBindings(env: object, names: BindingNames, realm: string): Bindings {
  const source = env as Record<string, unknown>;
  const resolved: Record<string, unknown> = { ...source };
  let renamed = false;
  for (const [name, option, kind] of BINDINGS) {
    const from = names[option];
    const value = source[from];
    if (!CHECKS[kind](value)) {
      throw new ConfigurationError(`binding ${from} (${option}) is missing or is not a ${kindName(kind)}`);
    }
    if (from !== name) renamed = true;
    resolved[name] = value;
  }
  if (realm !== "") {
    for (const name of SHARED_NAMESPACES) {
      resolved[name] = realmNamespace(resolved[name] as DurableObjectNamespace<undefined>, realm);
    }
  }
  // Every value was checked above; the vars are the Worker's own strings.
  return (renamed || realm !== "" ? resolved : source) as unknown as Bindings;
}

function kindName(kind: Kind): string {
  return {
    d1: "D1 database",
    kv: "KV namespace",
    namespace: "Durable Object namespace",
    ratelimit: "rate limit",
    secret: "string",
  }[kind];
}

/**
 * A Durable Object namespace whose object names carry the realm (`<realm>:<name>`), so realms
 * that share it never reach each other's objects by name. Ids from `idFromString` are not
 * renamed: no shared namespace is addressed by id string (only each realm's own
 * BACKCHANNEL_REQUESTS is, and that namespace is not shared).
 */
export function realmNamespace<T extends Rpc.DurableObjectBranded | undefined>(
  inner: DurableObjectNamespace<T>,
  realm: string,
): DurableObjectNamespace<T> {
  const named = (name: string) => `${realm}:${name}`;
  const scoped: DurableObjectNamespace<T> = {
    newUniqueId: (options) => inner.newUniqueId(options),
    idFromName: (name) => inner.idFromName(named(name)),
    idFromString: (id) => inner.idFromString(id),
    get: (id, options) => inner.get(id, options),
    getByName: (name, options) => inner.get(inner.idFromName(named(name)), options),
    jurisdiction: (jurisdiction) => realmNamespace(inner.jurisdiction(jurisdiction), realm),
  };
  return scoped;
}
