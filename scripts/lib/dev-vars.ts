/**
 * `.dev.vars`: the local secrets `wrangler dev` reads (and the admin tool, for
 * DATA_ENCRYPTION_KEY), in dotenv format. It is gitignored; `npm start` creates it once with a
 * fresh signing key and data encryption key and then keeps it, so tokens and encrypted rows
 * survive restarts.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseEnv } from "node:util";
import { generateDevSecrets } from "./dev-secrets.ts";
import { generateVapidVars, hasValidVapidPair } from "./vapid.ts";
import { PROJECT_ROOT } from "./wrangler.ts";

export const DEV_VARS_PATH = join(PROJECT_ROOT, ".dev.vars");

const HEADER = [
  "# Local secrets for `wrangler dev`, written by `npm start`. Not committed (.gitignore).",
  "# Delete this file to get a new signing key; see docs/configuration.md for the format.",
];

/** The variables in .dev.vars, or an empty object when there is none. */
export function readDevVars(path = DEV_VARS_PATH): Record<string, string> {
  if (!existsSync(path)) return {};
  const parsed = parseEnv(readFileSync(path, "utf8"));
  return Object.fromEntries(
    Object.entries(parsed).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
}

/** One dotenv line. JSON goes in single quotes, which dotenv reads literally. */
function dotenvLine(name: string, value: string): string {
  if (value.includes("'") || value.includes("\n")) throw new Error(`cannot write ${name} to .dev.vars`);
  return /^[A-Za-z0-9_.:/+=-]*$/.test(value) ? `${name}=${value}` : `${name}='${value}'`;
}

export interface EnsureResult {
  created: boolean;
  /** Variables that were missing from an existing file and have been appended. */
  added: string[];
}

/**
 * Local values that are not secrets but must hold for any `wrangler dev` started in this
 * checkout, by `npm start` or by hand: the local runtime builds `request.cf` from a
 * client-supplied header, so its `tlsClientAuth` must never be believed (docs/mtls.md).
 */
const LOCAL_ONLY = { TRUST_CF_TLS_CLIENT_AUTH: "false" } as const;

/**
 * Makes sure .dev.vars holds SIGNING_KEYS, DATA_ENCRYPTION_KEY, a VAPID key pair (Web Push), and
 * the local-only values.
 * An existing file is kept as it is; only what it lacks is generated and appended.
 */
export async function ensureDevVars(path = DEV_VARS_PATH): Promise<EnsureResult> {
  const existing = existsSync(path) ? readFileSync(path, "utf8") : undefined;
  const vars = existing === undefined ? {} : readDevVars(path);
  const missing = (["SIGNING_KEYS", "DATA_ENCRYPTION_KEY"] as const).filter((name) => !vars[name]);
  const localOnly = Object.entries(LOCAL_ONLY).filter(([name]) => vars[name] === undefined);
  // Web Push (npm start lists webpush): a pair, replaced whole if one half is missing or wrong.
  const vapid: Record<string, string> = (await hasValidVapidPair(vars)) ? {} : await generateVapidVars();
  const vapidNames = Object.keys(vapid);
  if (missing.length === 0 && localOnly.length === 0 && vapidNames.length === 0) return { created: false, added: [] };
  const secrets = await generateDevSecrets();
  const lines = [
    ...missing.map((name) => dotenvLine(name, secrets[name])),
    ...localOnly.map(([name, value]) => dotenvLine(name, value)),
    ...Object.entries(vapid).map(([name, value]) => dotenvLine(name, value)),
  ];
  if (existing === undefined) {
    writeFileSync(path, `${[...HEADER, ...lines].join("\n")}\n`, { mode: 0o600 });
    return { created: true, added: [] };
  }
  const separator = existing === "" || existing.endsWith("\n") ? "" : "\n";
  writeFileSync(path, `${existing}${separator}${lines.join("\n")}\n`, { mode: 0o600 });
  return { created: false, added: [...missing, ...localOnly.map(([name]) => name), ...vapidNames] };
}
