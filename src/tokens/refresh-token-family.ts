/**
 * One refresh-token family (RFC 6749 §6): the grant a user gave a client, and the chain of
 * refresh tokens rotated from it. Each object is addressed with `idFromName("rt:" + familyId)`.
 *
 * Rotation with reuse detection (OAuth 2.0 Security BCP §4.14.2): only the newest token of a
 * family is accepted; presenting one that was already rotated away means two parties hold the
 * family's tokens, so the whole family is revoked and the legitimate holder must start again.
 * Tokens are stored only as SHA-256 hashes. Every method is a synchronous read-check-write
 * (no `await` between the read and the write), which the runtime runs atomically, so two
 * concurrent refreshes with the same token cannot both succeed.
 *
 * Revocation may arrive before the family exists: an authorization code's exchange picks the
 * family id first, and a reuse of the code revokes that id at once (RFC 6749 §4.1.2), possibly
 * while the first exchange is still minting its tokens. Revoking an empty object therefore
 * leaves a tombstone, and `start` refuses to create a family over one; since both run in this
 * object one after the other, either the family is created and then revoked, or never created.
 */
import { DurableObject } from "cloudflare:workers";
import { int, json, object, type Parser, readStored, str } from "../parse";
import { type UserGrant, userGrantRecord } from "./grant";

/** Why a rotation was refused. */
export type RotationFailure =
  /** No family here, or the presented token is not one of its tokens. */
  | "unknown"
  | "expired"
  | "revoked"
  /** The token belongs to a family issued to another client. */
  | "client_mismatch"
  /** The token was already rotated away: the family has now been revoked. */
  | "reused"
  /** The requested scopes are not a subset of the family's scopes; nothing was changed. */
  | "scope_exceeds_grant"
  /** RFC 8705 §3: the family is bound to another client certificate; nothing was changed. */
  | "certificate_mismatch";

/** What `start` did: created the family, found one already there, or found it revoked. */
export type StartResult = "started" | "exists" | "revoked";

export type RotationResult =
  | { ok: true; grant: UserGrant }
  | { ok: false; reason: RotationFailure; subject?: string; grantId?: string };

interface FamilyRow {
  grant_json: UserGrant;
  client_id: string;
  expires_at: number;
  revoked: number;
  current_hash: string;
}

const familyRow: Parser<FamilyRow> = object<FamilyRow>({
  grant_json: json(userGrantRecord),
  client_id: str,
  expires_at: int,
  revoked: int,
  current_hash: str,
});

const expiryRow = object<{ expires_at: number }>({ expires_at: int });

export class RefreshTokenFamily extends DurableObject<object> {
  private readonly sql: SqlStorage;

  // The object reads nothing from the Worker's env: it stores, it does not call out.
  constructor(ctx: DurableObjectState, env: object) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    // One row at most: the family itself. `expires_at` is epoch seconds and never moves.
    this.sql.exec(`CREATE TABLE IF NOT EXISTS family (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      grant_json TEXT NOT NULL,
      client_id TEXT NOT NULL,
      expires_at INTEGER NOT NULL,
      revoked INTEGER NOT NULL DEFAULT 0,
      current_hash TEXT NOT NULL
    )`);
    // Every token rotated away, so that presenting one again is recognised as reuse.
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS rotated_token (token_hash TEXT PRIMARY KEY, rotated_at INTEGER NOT NULL)",
    );
    // A revocation that arrived before the family was started (one row at most).
    this.sql.exec(`CREATE TABLE IF NOT EXISTS tombstone (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      revoked_at INTEGER NOT NULL,
      expires_at INTEGER NOT NULL
    )`);
  }

  /**
   * Creates the family with its first token. Changes nothing if this object already holds a
   * family ("exists": a family id is never reused) or was revoked before it was started
   * ("revoked").
   */
  async start(grant: UserGrant, tokenHash: string, expiresAt: number): Promise<StartResult> {
    if (this.family()) return "exists";
    if (this.tombstone()) return "revoked";
    this.sql.exec(
      "INSERT INTO family (id, grant_json, client_id, expires_at, revoked, current_hash) VALUES (1, ?, ?, ?, 0, ?)",
      JSON.stringify(grant),
      grant.clientId,
      expiresAt,
      tokenHash,
    );
    await this.ctx.storage.setAlarm(expiresAt * 1000);
    return "started";
  }

  /**
   * Exchanges the current token (`presentedHash`) for `newHash`. When `requestedScopes` is
   * given it must be a subset of the family's scopes; a family started over mTLS needs the same
   * certificate (`certificateThumbprint`). Both are checked before anything changes, so that a
   * refusal does not use up the client's token.
   */
  async rotate(
    presentedHash: string,
    clientId: string,
    newHash: string,
    now: number,
    options: { requestedScopes?: string[]; certificateThumbprint?: string; keep?: boolean } = {},
  ): Promise<RotationResult> {
    const family = this.family();
    if (!family) return { ok: false, reason: "unknown" };
    const isCurrent = family.current_hash === presentedHash;
    const wasRotated = !isCurrent && this.wasRotated(presentedHash);
    if (!isCurrent && !wasRotated) return { ok: false, reason: "unknown" };
    // Refused without revoking: a token bound to another client is useless to whoever holds it.
    if (family.client_id !== clientId) return { ok: false, reason: "client_mismatch" };
    if (now >= family.expires_at) return { ok: false, reason: "expired" };
    if (family.revoked) return { ok: false, reason: "revoked" };
    const grant = family.grant_json;
    if (wasRotated) {
      this.sql.exec("UPDATE family SET revoked = 1");
      return { ok: false, reason: "reused", subject: grant.subject, grantId: grant.grantId };
    }
    if (grant.certificateThumbprint && grant.certificateThumbprint !== options.certificateThumbprint) {
      return { ok: false, reason: "certificate_mismatch" };
    }
    if (options.requestedScopes?.some((scope) => !grant.scopes.includes(scope))) {
      return { ok: false, reason: "scope_exceeds_grant" };
    }
    // FAPI 2.0 §5.3.2.1: a fapi2 client's refresh token is not rotated; it stays the current one.
    if (options.keep) return { ok: true, grant };
    this.sql.exec("INSERT INTO rotated_token (token_hash, rotated_at) VALUES (?, ?)", presentedHash, now);
    this.sql.exec("UPDATE family SET current_hash = ?", newHash);
    return { ok: true, grant };
  }

  /**
   * Revokes every token of the family (code reuse, grant withdrawn). With no family here yet,
   * leaves a tombstone until `tombstoneUntil` (epoch seconds) so that the family can never be
   * started; the caller picks a time after which no exchange can still be starting it.
   */
  async revoke(tombstoneUntil: number): Promise<void> {
    if (this.family()) {
      this.sql.exec("UPDATE family SET revoked = 1");
      return;
    }
    if (this.tombstone()) return;
    this.sql.exec(
      "INSERT INTO tombstone (id, revoked_at, expires_at) VALUES (1, ?, ?)",
      Math.floor(Date.now() / 1000),
      tombstoneUntil,
    );
    await this.ctx.storage.setAlarm(tombstoneUntil * 1000);
  }

  /**
   * RFC 7662 §2.2: the family's grant if `presentedHash` is its current token and the family is
   * neither revoked nor expired; undefined otherwise (unknown, rotated away, revoked, expired),
   * without saying which. Reads only: introspecting a rotated-away token is not a reuse.
   */
  async inspect(presentedHash: string, now: number): Promise<{ grant: UserGrant; expiresAt: number } | undefined> {
    const family = this.family();
    if (!family || family.current_hash !== presentedHash) return undefined;
    if (family.revoked || now >= family.expires_at) return undefined;
    return { grant: family.grant_json, expiresAt: family.expires_at };
  }

  /**
   * RFC 7009 §2.1: revokes the family when `presentedHash` is its current token and it was
   * issued to `clientId`. "foreign" changes nothing; "unknown" covers a token that is not the
   * family's current one (already revoked, rotated away, or never issued), which §2.2 answers
   * like a successful revocation. Returns the grant so that its access tokens go too.
   */
  async revokeByToken(
    presentedHash: string,
    clientId: string,
  ): Promise<{ outcome: "revoked"; grant: UserGrant } | { outcome: "unknown" | "foreign" }> {
    const family = this.family();
    if (!family || family.current_hash !== presentedHash || family.revoked) return { outcome: "unknown" };
    if (family.client_id !== clientId) return { outcome: "foreign" };
    this.sql.exec("UPDATE family SET revoked = 1");
    return { outcome: "revoked", grant: family.grant_json };
  }

  /**
   * Expiry clean-up. Deletes rows rather than calling `deleteAll()`, which would also drop the
   * tables under this still-live instance. Alarms are at-least-once and may run early in tests,
   * so a family or tombstone that has not yet expired is kept and the alarm set again.
   */
  override async alarm(): Promise<void> {
    const expiresAt = this.family()?.expires_at ?? this.tombstone()?.expires_at;
    if (expiresAt !== undefined && Date.now() < expiresAt * 1000) {
      await this.ctx.storage.setAlarm(expiresAt * 1000);
      return;
    }
    this.sql.exec("DELETE FROM rotated_token");
    this.sql.exec("DELETE FROM family");
    this.sql.exec("DELETE FROM tombstone");
  }

  /** The family, or undefined: none, or a row that does not parse (logged; its tokens are then unknown). */
  private family(): FamilyRow | undefined {
    const row = this.sql
      .exec("SELECT grant_json, client_id, expires_at, revoked, current_hash FROM family WHERE id = 1")
      .toArray()[0];
    return row ? readStored("refresh-token families", familyRow, row) : undefined;
  }

  private tombstone(): { expires_at: number } | undefined {
    const row = this.sql.exec("SELECT expires_at FROM tombstone WHERE id = 1").toArray()[0];
    if (row === undefined) return undefined;
    // A tombstone that does not parse still stands: revoked stays revoked.
    return readStored("refresh-token families", expiryRow, row) ?? { expires_at: Number.MAX_SAFE_INTEGER };
  }

  private wasRotated(tokenHash: string): boolean {
    return this.sql.exec("SELECT 1 FROM rotated_token WHERE token_hash = ?", tokenHash).toArray().length > 0;
  }
}
