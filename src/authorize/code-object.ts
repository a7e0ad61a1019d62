/**
 * One Durable Object per authorization code, named by SHA-256 of the code. Redemption is a
 * synchronous read-check-write, so a code is exchanged at most once even when two token
 * requests race (RFC 6749 §4.1.2: "The client MUST NOT use the authorization code more than
 * once"). A second use is remembered as reuse: the caller then revokes what the first use got.
 *
 * What the first use gets is fixed in the same step that consumes the code: the grant id (set
 * when the code was issued) and the id of the refresh-token family the exchange may start,
 * which the caller picks before redeeming. So a reuse, at whatever moment it lands, learns
 * both and can revoke them, even if the family has not been created yet (a family revoked
 * before it starts can never start: src/tokens/refresh-token-family.ts).
 */
import { DurableObject } from "cloudflare:workers";
import { int, json, nullable, object, optional, type Parser, readStored, str } from "../parse";
import { newGrantId, type UserGrant, userGrantRecord } from "../tokens/grant";

export interface CodeRecord {
  grant: UserGrant;
  redirectUri: string;
  codeChallenge: string;
  nonce?: string;
  /** Epoch seconds. */
  expiresAt: number;
  /** RFC 9449 §10: the DPoP key (JWK thumbprint) the code is bound to, from dpop_jkt or /par's proof. */
  dpopJkt?: string;
}

export type Redemption =
  /** `grant.grantId` is always set; `refreshFamilyId` is the family this exchange may start. */
  | { ok: true; grant: UserGrant; nonce?: string; refreshFamilyId: string }
  | { ok: false; reason: "unknown" | "expired" | "wrong_redirect_uri" | "wrong_verifier" | "wrong_dpop_key" }
  | { ok: false; reason: "reused"; grantId?: string; refreshFamily?: string };

const codeRecord: Parser<CodeRecord> = object<CodeRecord>({
  grant: userGrantRecord,
  redirectUri: str,
  codeChallenge: str,
  nonce: optional(str),
  expiresAt: int,
  dpopJkt: optional(str),
});

/**
 * What the object stores under its one key (`code`) of the synchronous key-value API (issue 18:
 * no `CREATE TABLE` per code): the record, how many times the code was presented after its one
 * valid use began (0 = unused), and the refresh-token family that use may start.
 */
interface CodeEntry {
  record: CodeRecord;
  used: number;
  refreshFamily?: string;
}

const codeEntry: Parser<CodeEntry> = object<CodeEntry>({
  record: codeRecord,
  used: int,
  refreshFamily: optional(str),
});

/** A code stored before issue 18, in the `code` table. */
const legacyRow: Parser<CodeEntry> = (value, at) => {
  const row = object({ record: json(codeRecord), used: int, refresh_family: nullable(str) })(value, at);
  return { record: row.record, used: row.used, refreshFamily: row.refresh_family };
};

const KEY = "code";

/** Kept this long after expiry so that a late reuse is still recognised as reuse. */
const REUSE_MEMORY = 600;

export class AuthorizationCodeObject extends DurableObject<object> {
  private readonly kv: SyncKvStorage;

  // The object reads nothing from the Worker's env: it stores, it does not call out.
  constructor(ctx: DurableObjectState, env: object) {
    super(ctx, env);
    this.kv = ctx.storage.kv;
  }

  /** Stores a new code: one row and its alarm (the end of the reuse memory). */
  async create(record: CodeRecord): Promise<boolean> {
    if (this.kv.get(KEY) !== undefined) return false;
    const entry: CodeEntry = { record, used: 0 };
    this.kv.put(KEY, entry);
    await this.ctx.storage.setAlarm((record.expiresAt + REUSE_MEMORY) * 1000);
    return true;
  }

  /**
   * Exchanges the code once. Checks that do not prove possession (client, redirect_uri,
   * PKCE, the DPoP key of a bound code) fail without using the code up; only a matching request consumes it, and records
   * `refreshFamilyId` with it, so that every later reuse revokes that family.
   */
  async redeem(
    clientId: string,
    redirectUri: string,
    codeChallenge: string,
    refreshFamilyId: string,
    dpopJkt?: string,
  ): Promise<Redemption> {
    const entry = this.entry();
    // An entry that does not parse is no code (logged): refused as unknown.
    if (!entry) return { ok: false, reason: "unknown" };
    const { record } = entry;
    if (record.grant.clientId !== clientId) return { ok: false, reason: "unknown" };
    if (entry.used !== 0) {
      this.save({ ...entry, used: entry.used + 1 });
      return { ok: false, reason: "reused", grantId: record.grant.grantId, refreshFamily: entry.refreshFamily };
    }
    if (record.expiresAt <= Math.floor(Date.now() / 1000)) return { ok: false, reason: "expired" };
    if (record.redirectUri !== redirectUri) return { ok: false, reason: "wrong_redirect_uri" };
    if (record.codeChallenge !== codeChallenge) return { ok: false, reason: "wrong_verifier" };
    // RFC 9449 §10: a bound code needs a proof by its key; without one it stays unused.
    if (record.dpopJkt !== undefined && record.dpopJkt !== dpopJkt) return { ok: false, reason: "wrong_dpop_key" };
    // Codes are issued with a grant id; one without (none should exist) gets it here, in the
    // same write, so that a reuse can still revoke the grant.
    const grant = { ...record.grant, grantId: record.grant.grantId ?? newGrantId() };
    this.save({ record: { ...record, grant }, used: 1, refreshFamily: refreshFamilyId });
    return { ok: true, grant, nonce: record.nonce, refreshFamilyId };
  }

  /** The end of the reuse memory: everything goes (the key, and a legacy table if any). */
  override async alarm(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  private entry(): CodeEntry | undefined {
    const stored = this.kv.get(KEY);
    if (stored !== undefined) return readStored("authorization codes", codeEntry, stored);
    return this.legacyEntry();
  }

  /**
   * A code stored before issue 18 (a `code` table), so that codes in flight at the deploy are
   * still exchanged once; written to the key-value API at their next change. Only asked when
   * the key is absent (an unknown code, or such a code).
   */
  private legacyEntry(): CodeEntry | undefined {
    const sql = this.ctx.storage.sql;
    if (sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'code'").toArray().length === 0) {
      return undefined;
    }
    const row = sql.exec("SELECT record, used, refresh_family FROM code WHERE id = 1").toArray()[0];
    return row ? readStored("authorization codes", legacyRow, row) : undefined;
  }

  /** Writes the entry; a legacy table, if any, is left to the alarm: the key is read first from now on. */
  private save(entry: CodeEntry): void {
    this.kv.put(KEY, entry);
  }
}
