/**
 * The signing keys stored in D1 (migrations/0096_signing_keys.sql), as token code reads them: a
 * key's private JWK is sealed with DATA_ENCRYPTION_KEY (AES-256-GCM, additional data naming the
 * kid), and the imported keys are kept per D1 database for SIGNING_KEYS_CACHE_SECONDS, so
 * signing and verifying tokens reads D1 about once a minute per isolate, not once per request.
 * The console's changes (src/admin/keys.ts) drop the cache of their own isolate at once; other
 * isolates see them within the cache's lifetime, which the schedule of a new key allows for.
 */
import type { JWK } from "jose";
import { decrypt, encrypt } from "../crypto/encryption";
import { logger } from "../log";
import { int, isRecord, nullable, object, oneOf, readStored, str } from "../parse";
import { importSigningKey, type StoredSigningKey } from "./keys";

/** The algorithms a console key may have: those Web Crypto generates quickly (not RSA's RS256). */
export const STORED_KEY_ALGS = ["ES256", "PS256", "EdDSA"] as const;
export type StoredKeyAlg = (typeof STORED_KEY_ALGS)[number];

/** One row of `signing_keys`, parsed; the sealed private key stays out of it. */
export interface SigningKeyRow {
  kid: string;
  alg: StoredKeyAlg;
  publicJwk: JWK;
  createdAt: number;
  signsFrom: number;
  retiredAt: number | undefined;
  removeAfter: number | undefined;
}

interface StoredRow {
  kid: string;
  alg: StoredKeyAlg;
  public_jwk: string;
  private_jwk_sealed: string;
  created_at: number;
  signs_from: number;
  retired_at: number | undefined;
  remove_after: number | undefined;
}

const storedRow = object<StoredRow>({
  kid: str,
  alg: oneOf(STORED_KEY_ALGS),
  public_jwk: str,
  private_jwk_sealed: str,
  created_at: int,
  signs_from: int,
  retired_at: nullable(int),
  remove_after: nullable(int),
});

/** The isolate's copy of one database's keys (owned by the provider, one per D1 database). */
export type SigningKeyCache = { keys?: Promise<StoredSigningKey[]>; until: number };

/** Binds a sealed private key to its row's kid. */
const aadOf = (kid: string) => `edge-op signing-key ${kid}`;

export function sealPrivateJwk(dataEncryptionKey: string | undefined, jwk: JWK & { kid: string }): Promise<string> {
  return encrypt(dataEncryptionKey, JSON.stringify(jwk), aadOf(jwk.kid));
}

export class SigningKeyStore {
  constructor(
    private readonly db: D1Database,
    private readonly dataEncryptionKey: string | undefined,
    private readonly cacheSeconds: number,
    private readonly cache: SigningKeyCache,
  ) {}

  /**
   * Every stored key not yet deleted, imported (their schedule decides what signs and what
   * /jwks lists, src/tokens/keys.ts). Read from D1 at most once per SIGNING_KEYS_CACHE_SECONDS.
   */
  published(): Promise<StoredSigningKey[]> {
    const now = Date.now();
    // The cache is shared by the provider's stores of this database; one told to keep nothing
    // (SIGNING_KEYS_CACHE_SECONDS=0) reads D1 and leaves the cache as it is.
    if (this.cacheSeconds === 0) return this.importAll();
    if (this.cache.keys && this.cache.until > now) return this.cache.keys;
    const previous = this.cache.keys;
    const keys: Promise<StoredSigningKey[]> = this.importAll().catch((error: unknown) => {
      // A failed read is not kept: the next use tries again. Meanwhile the keys this isolate
      // already knew still serve (their schedule still applies), so a D1 outage does not stop
      // signing; an isolate that knew none fails as it would without them.
      if (this.cache.keys === keys) this.cache.until = 0;
      if (previous) return previous;
      throw error;
    });
    this.cache.keys = keys;
    this.cache.until = now + this.cacheSeconds * 1000;
    return keys;
  }

  /** Drops this isolate's copy, after a change, so the next use reads D1. */
  forget(): void {
    this.cache.keys = undefined;
    this.cache.until = 0;
  }

  /** The rows, newest first, for the console (no private key). */
  async rows(): Promise<SigningKeyRow[]> {
    return (await this.storedRows()).map(viewOf);
  }

  private async storedRows(): Promise<StoredRow[]> {
    let results: Record<string, unknown>[];
    try {
      ({ results } = await this.db.prepare("SELECT * FROM signing_keys ORDER BY created_at DESC, kid").all());
    } catch (error) {
      // A database without migration 0096 (a deployment that upgraded edge-op but has not applied
      // it yet, a local runtime probed before its migrations) has no console keys: the secret's
      // keys sign as before, rather than every token request failing. Adding a key fails there.
      if (!(error instanceof Error) || !/no such table: signing_keys/.test(error.message)) throw error;
      logger.error("storage_record_malformed", {
        store: "signing_keys",
        problem: "the table is missing: apply migration 0096 (npx wrangler d1 migrations apply)",
      });
      return [];
    }
    return results.flatMap((row) => readStored("signing_keys", storedRow, row) ?? []);
  }

  private async importAll(): Promise<StoredSigningKey[]> {
    const now = Math.floor(Date.now() / 1000);
    // A key past its remove_after is published no more and never signs again: not imported.
    const rows = (await this.storedRows()).filter((row) => row.remove_after === undefined || row.remove_after > now);
    const keys = await Promise.all(rows.map((row) => this.importRow(row)));
    return keys.flatMap((key) => key ?? []);
  }

  /**
   * A key that does not unseal (another DATA_ENCRYPTION_KEY, a row edited by hand) cannot sign:
   * it is logged and left out, like any malformed record, so the other keys keep working.
   */
  private async importRow(row: StoredRow): Promise<StoredSigningKey | undefined> {
    const plain = await decrypt(this.dataEncryptionKey, row.private_jwk_sealed, aadOf(row.kid));
    const jwk: unknown = plain === undefined ? undefined : JSON.parse(plain);
    if (!isRecord(jwk) || jwk.kid !== row.kid || jwk.alg !== row.alg) {
      logger.error("storage_record_malformed", {
        store: "signing_keys",
        problem: `key ${row.kid} does not unseal with DATA_ENCRYPTION_KEY`,
      });
      return undefined;
    }
    // importSigningKey checks the members jose needs (kid, alg, d) and imports it.
    const key = await importSigningKey(jwk as JWK, "signing_keys");
    return { ...key, ...schedule(row) };
  }
}

function schedule(row: StoredRow) {
  return {
    createdAt: row.created_at,
    signsFrom: row.signs_from,
    retiredAt: row.retired_at,
    removeAfter: row.remove_after,
  };
}

function viewOf(row: StoredRow): SigningKeyRow {
  let publicJwk: JWK = {};
  try {
    const parsed: unknown = JSON.parse(row.public_jwk);
    if (isRecord(parsed)) publicJwk = parsed as JWK;
  } catch {
    // Shown empty: the page still lists the key and its schedule.
  }
  return { kid: row.kid, alg: row.alg, publicJwk, ...schedule(row) };
}
