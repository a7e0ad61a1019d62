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

interface CodeRow {
  record: CodeRecord;
  /** How many times the code was presented after its one valid use began: 0 = unused. */
  used: number;
  refresh_family?: string;
}

const codeRow: Parser<CodeRow> = object<CodeRow>({
  record: json(codeRecord),
  used: int,
  refresh_family: nullable(str),
});

/** Kept this long after expiry so that a late reuse is still recognised as reuse. */
const REUSE_MEMORY = 600;

export class AuthorizationCodeObject extends DurableObject<object> {
  private readonly sql: SqlStorage;

  // The object reads nothing from the Worker's env: it stores, it does not call out.
  constructor(ctx: DurableObjectState, env: object) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(`CREATE TABLE IF NOT EXISTS code (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      record TEXT NOT NULL,
      -- How many times the code was presented after its one valid use began: 0 = unused.
      used INTEGER NOT NULL DEFAULT 0,
      refresh_family TEXT
    )`);
  }

  async create(record: CodeRecord): Promise<boolean> {
    if (this.row()) return false;
    this.sql.exec("INSERT INTO code (id, record) VALUES (1, ?)", JSON.stringify(record));
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
    const row = this.row();
    // A row that does not parse is no code (logged): refused as unknown.
    if (!row) return { ok: false, reason: "unknown" };
    const { record } = row;
    if (record.grant.clientId !== clientId) return { ok: false, reason: "unknown" };
    if (row.used !== 0) {
      this.sql.exec("UPDATE code SET used = used + 1");
      return {
        ok: false,
        reason: "reused",
        grantId: record.grant.grantId,
        refreshFamily: row.refresh_family ?? undefined,
      };
    }
    if (record.expiresAt <= Math.floor(Date.now() / 1000)) return { ok: false, reason: "expired" };
    if (record.redirectUri !== redirectUri) return { ok: false, reason: "wrong_redirect_uri" };
    if (record.codeChallenge !== codeChallenge) return { ok: false, reason: "wrong_verifier" };
    // RFC 9449 §10: a bound code needs a proof by its key; without one it stays unused.
    if (record.dpopJkt !== undefined && record.dpopJkt !== dpopJkt) return { ok: false, reason: "wrong_dpop_key" };
    // Codes are issued with a grant id; one without (none should exist) gets it here, in the
    // same write, so that a reuse can still revoke the grant.
    const grant = { ...record.grant, grantId: record.grant.grantId ?? newGrantId() };
    this.sql.exec(
      "UPDATE code SET used = 1, refresh_family = ?, record = ?",
      refreshFamilyId,
      JSON.stringify({ ...record, grant }),
    );
    return { ok: true, grant, nonce: record.nonce, refreshFamilyId };
  }

  override async alarm(): Promise<void> {
    this.sql.exec("DELETE FROM code");
  }

  private row(): CodeRow | undefined {
    const row = this.sql.exec("SELECT record, used, refresh_family FROM code WHERE id = 1").toArray()[0];
    return row ? readStored("authorization codes", codeRow, row) : undefined;
  }
}
