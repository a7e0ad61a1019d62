/**
 * Signing keys in the console (issue 17, docs/admin-console.md "Signing keys"): list them with
 * their state and what /jwks serves, add a key (generated here with Web Crypto, its private JWK
 * stored only sealed), retire one. Each change is one D1 batch with its audit row. Keys of the
 * SIGNING_KEYS secret are listed read-only. No private member ever leaves this file or
 * src/tokens/.
 *
 * Schedule of an added key: in /jwks at once, signing from `now + 300 s (the max-age of /jwks) +
 * SIGNING_KEYS_CACHE_SECONDS` (other isolates may read D1 that much later), so a relying party
 * that cached /jwks has refetched it before a token carries the new kid. A retired key stops
 * signing at once here (within SIGNING_KEYS_CACHE_SECONDS elsewhere) and stays in /jwks until
 * every token it may have signed has expired: `remove_after` (see removalDelay).
 */
import { exportJWK, generateKeyPair, type JWK } from "jose";
import type { Settings } from "../config";
import { base64url } from "../crypto/encoding";
import { DEFAULT_RESPONSE_LIFETIME } from "../jarm/response";
import { LOGOUT_TOKEN_LIFETIME } from "../logout/logout-token";
import {
  type SigningKeyRow,
  type SigningKeyStore,
  STORED_KEY_ALGS,
  type StoredKeyAlg,
  sealPrivateJwk,
} from "../tokens/key-store";
import { loadKeys, publicJwkOf, scheduleAt } from "../tokens/keys";
import type { AdminStore } from "./store";

/** The Cache-Control max-age of /jwks (src/endpoints/discovery.ts). */
export const JWKS_MAX_AGE = 300;

export type KeyState = "secret-signing" | "secret" | "pending" | "signing" | "superseded" | "retired" | "removed";

export interface SigningKeyView {
  kid: string;
  alg: string;
  source: "secret" | "console";
  /** Whether this key signs new tokens now. */
  signs: boolean;
  /**
   * secret-signing / secret: a key of SIGNING_KEYS (signing, or published only); pending: in
   * /jwks, signs from `signs_from`; signing; superseded: may sign but a newer key does; retired:
   * in /jwks until `remove_after`; removed: no longer in /jwks (the row is deleted soon).
   */
  state: KeyState;
  created_at: number | null;
  signs_from: number | null;
  retired_at: number | null;
  remove_after: number | null;
  public_jwk: JWK;
}

export interface KeyOverview {
  keys: SigningKeyView[];
  /** The kid that signs new tokens now. */
  signing_kid: string | undefined;
  /** The kids /jwks serves now, in its order. */
  jwks_kids: string[];
}

/** What retiring a key would do, for the confirm page and the API's answer. */
export interface RetireEffect {
  kid: string;
  /** When /jwks stops listing it. */
  remove_after: number;
  /** The kid that signs once it is retired. */
  signing_kid_after: string | undefined;
  /** The kids /jwks serves after remove_after (if nothing else changes). */
  jwks_kids_after_removal: string[];
  /** Why it cannot be retired, when it cannot. */
  refused?: string;
}

export class KeyInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const now = () => Math.floor(Date.now() / 1000);

/**
 * How long a retired key stays in /jwks: the longest lifetime of anything it signs (ID token,
 * JWT access token, JARM response, logout token; a signed introspection response is about an
 * access token and is used at once), plus the clock tolerance relying parties are asked to allow,
 * plus the isolates that keep signing with it until their key cache expires.
 */
export function removalDelay(settings: Settings): number {
  const longest = Math.max(
    settings.idTokenTtl,
    settings.accessTokenTtl,
    DEFAULT_RESPONSE_LIFETIME,
    LOGOUT_TOKEN_LIFETIME,
  );
  return longest + settings.jwtClockTolerance + settings.signingKeysCacheSeconds;
}

export class SigningKeyAdmin {
  constructor(
    private readonly db: D1Database,
    private readonly audit: AdminStore,
    private readonly keyStore: SigningKeyStore,
    private readonly settings: Settings,
    /** The SIGNING_KEYS secret's text (its keys are listed read-only). */
    private readonly secret: string | undefined,
    private readonly dataEncryptionKey: string | undefined,
  ) {}

  async overview(at = now()): Promise<KeyOverview> {
    // Rows past remove_after are no longer published: deleted lazily here (the audit trail keeps
    // their add and retire), so no sealed private key outlives its use.
    await this.db
      .prepare("DELETE FROM signing_keys WHERE remove_after IS NOT NULL AND remove_after <= ?")
      .bind(at)
      .run();
    const rows = await this.keyStore.rows();
    const secretKeys = this.secret ? (await loadKeys(this.secret)).all : [];
    const secretKids = new Set(secretKeys.map((key) => key.kid));
    const { listed, signing } = scheduleAt(rows, secretKids, at);
    const signingKid = signing[0]?.kid ?? secretKeys[0]?.kid;
    const fromSecret: SigningKeyView[] = secretKeys.map((key) => ({
      kid: key.kid,
      alg: key.alg,
      source: "secret",
      signs: key.kid === signingKid,
      state: key.kid === signingKid ? "secret-signing" : "secret",
      created_at: null,
      signs_from: null,
      retired_at: null,
      remove_after: null,
      public_jwk: key.publicJwk,
    }));
    const listedKids = new Set(listed.map((row) => row.kid));
    const fromConsole = rows
      .filter((row) => !secretKids.has(row.kid))
      .map((row) => consoleView(row, at, signingKid, listedKids));
    return {
      keys: [...fromConsole, ...fromSecret],
      signing_kid: signingKid,
      jwks_kids: [...secretKeys.map((key) => key.kid), ...listed.map((row) => row.kid)],
    };
  }

  /** A new key of `alg`, in /jwks at once; returns its view. */
  async add(alg: string, actor: string): Promise<SigningKeyView> {
    if (!(STORED_KEY_ALGS as readonly string[]).includes(alg)) {
      throw new KeyInputError("alg", `alg must be one of ${STORED_KEY_ALGS.join(", ")}`);
    }
    const keyAlg = alg as StoredKeyAlg;
    const kid = `console-${base64url(crypto.getRandomValues(new Uint8Array(16)))}`;
    const { privateKey } = await generateKeyPair(keyAlg, { extractable: true });
    const privateJwk = { ...(await exportJWK(privateKey)), kid, alg: keyAlg };
    const publicJwk = publicJwkOf(privateJwk);
    const at = now();
    const signsFrom = at + JWKS_MAX_AGE + this.settings.signingKeysCacheSeconds;
    await this.db.batch([
      this.db
        .prepare(
          "INSERT INTO signing_keys (kid, alg, public_jwk, private_jwk_sealed, created_at, signs_from) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(
          kid,
          keyAlg,
          JSON.stringify(publicJwk),
          await sealPrivateJwk(this.dataEncryptionKey, privateJwk),
          at,
          signsFrom,
        ),
      this.audit.auditStatement(actor, "key.add", kid, `${keyAlg}, signs from ${signsFrom}`),
    ]);
    this.keyStore.forget();
    const view = (await this.overview()).keys.find((key) => key.kid === kid);
    if (!view) throw new Error("the added key is not listed");
    return view;
  }

  /** What retiring `kid` would do; undefined when no console key has that kid. */
  async retireEffect(kid: string, at = now()): Promise<RetireEffect | undefined> {
    const rows = await this.keyStore.rows();
    const row = rows.find((candidate) => candidate.kid === kid);
    if (!row) return undefined;
    const removeAfter = at + removalDelay(this.settings);
    const secretKeys = this.secret ? (await loadKeys(this.secret)).all : [];
    const secretKids = new Set(secretKeys.map((key) => key.kid));
    const others = rows.filter((candidate) => candidate.kid !== kid);
    const { signing } = scheduleAt(others, secretKids, at);
    const { listed } = scheduleAt(others, secretKids, removeAfter);
    const signingAfter = signing[0]?.kid ?? secretKeys[0]?.kid;
    const effect: RetireEffect = {
      kid,
      remove_after: removeAfter,
      signing_kid_after: signingAfter,
      jwks_kids_after_removal: [...secretKeys.map((key) => key.kid), ...listed.map((key) => key.kid)],
    };
    if (row.retiredAt !== undefined) effect.refused = "this key is already retired";
    else if (!signingAfter) {
      effect.refused =
        "it is the last key that can sign (SIGNING_KEYS has none): add another key and retire this one once the new key signs";
    }
    return effect;
  }

  /**
   * Retires `kid`. The guard is in the UPDATE itself (still not retired, and another key can sign
   * or the secret has one), so two admins retiring the last two keys at once cannot both
   * succeed; the audit row is written only when the UPDATE changed the row (same batch).
   */
  async retire(kid: string, actor: string): Promise<RetireEffect | undefined> {
    const at = now();
    const effect = await this.retireEffect(kid, at);
    if (!effect || effect.refused) return effect;
    const secretCanSign = this.secret ? 1 : 0;
    const [update] = await this.db.batch([
      this.db
        .prepare(
          `UPDATE signing_keys SET retired_at = ?1, remove_after = ?2
           WHERE kid = ?3 AND retired_at IS NULL AND (?4 = 1 OR EXISTS (
             SELECT 1 FROM signing_keys other
             WHERE other.kid != ?3 AND other.retired_at IS NULL AND other.signs_from <= ?1))`,
        )
        .bind(at, effect.remove_after, kid, secretCanSign),
      this.db
        .prepare(
          "INSERT INTO admin_audit (at, actor, action, target, detail) SELECT ?, ?, 'key.retire', ?, ? WHERE changes() = 1",
        )
        .bind(at, actor, kid, `in /jwks until ${effect.remove_after}`),
    ]);
    this.keyStore.forget();
    if (update?.meta.changes !== 1) {
      return { ...effect, refused: "another change came first: it is retired, or the last key that can sign" };
    }
    return effect;
  }
}

function consoleView(
  row: SigningKeyRow,
  at: number,
  signingKid: string | undefined,
  listedKids: Set<string>,
): SigningKeyView {
  let state: KeyState;
  if (!listedKids.has(row.kid)) state = "removed";
  else if (row.retiredAt !== undefined) state = "retired";
  else if (row.signsFrom > at) state = "pending";
  else state = row.kid === signingKid ? "signing" : "superseded";
  return {
    kid: row.kid,
    alg: row.alg,
    source: "console",
    signs: row.kid === signingKid,
    state,
    created_at: row.createdAt,
    signs_from: row.signsFrom,
    retired_at: row.retiredAt ?? null,
    remove_after: row.removeAfter ?? null,
    public_jwk: row.publicJwk,
  };
}
