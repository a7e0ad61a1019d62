/**
 * VAPID keys for the scripts (issue 16): `npm start` puts a pair into .dev.vars, and
 * `npm run admin -- keys vapid` prints one for a deployment (set the private key with
 * `wrangler secret put VAPID_PRIVATE_KEY`, the public one as a var or secret VAPID_PUBLIC_KEY).
 * The keys are made by src/push/vapid.ts, the code that signs with them, so their format cannot
 * drift apart. Nothing here touches files; the callers decide where the lines go.
 */
import { generateVapidKeys, importVapidSigningKey, type VapidKeys } from "../../src/push/vapid.ts";

/** The settings that hold the pair (names the Worker's settings will read). */
export const VAPID_PUBLIC_KEY = "VAPID_PUBLIC_KEY";
export const VAPID_PRIVATE_KEY = "VAPID_PRIVATE_KEY";

export type VapidVars = Record<typeof VAPID_PUBLIC_KEY | typeof VAPID_PRIVATE_KEY, string>;

/** A fresh pair as the two variables. */
export async function generateVapidVars(): Promise<VapidVars> {
  const keys = await generateVapidKeys();
  return { [VAPID_PUBLIC_KEY]: keys.publicKey, [VAPID_PRIVATE_KEY]: keys.privateKey };
}

/**
 * Whether `vars` (e.g. the parsed .dev.vars) already holds a usable pair. A file with only one
 * half, or two halves that do not belong together, needs a new pair: replacing just one half
 * would leave browsers subscribed with a key nothing can sign for.
 */
export async function hasValidVapidPair(vars: Record<string, string | undefined>): Promise<boolean> {
  const publicKey = vars[VAPID_PUBLIC_KEY];
  const privateKey = vars[VAPID_PRIVATE_KEY];
  if (!publicKey || !privateKey) return false;
  try {
    await importVapidSigningKey({ publicKey, privateKey });
    return true;
  } catch {
    return false;
  }
}

/**
 * What `npm run admin -- keys vapid` prints: dotenv lines by default (paste into .dev.vars or
 * feed to `wrangler secret bulk`), or a JSON object with `--json`.
 */
export function formatVapidKeys(keys: VapidKeys, format: "env" | "json" = "env"): string {
  if (format === "json") return JSON.stringify({ publicKey: keys.publicKey, privateKey: keys.privateKey });
  return `${VAPID_PUBLIC_KEY}=${keys.publicKey}\n${VAPID_PRIVATE_KEY}=${keys.privateKey}`;
}
