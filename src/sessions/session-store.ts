/**
 * Server-side sessions for signed-in users (D1 table `sessions`). The browser holds a random
 * 256-bit session id in a signed cookie; the table holds only its hash, so sign-out (delete
 * the row) and expiry (expires_at) hold no matter what the browser keeps sending.
 */
import { randomHandle, sha256Hex } from "../crypto/hash";
import { arrayOf, int, json, object, type Parser, readStored, str } from "../parse";

export interface Session {
  subject: string;
  /** Public session handle: `sid` in ID tokens, `sessionId` on completed CIBA requests. */
  sid: string;
  authTime: number;
  amr: string[];
  expiresAt: number;
}

interface SessionRow {
  subject: string;
  sid: string;
  auth_time: number;
  amr: string[];
  expires_at: number;
}

const sessionRecord: Parser<SessionRow> = object<SessionRow>({
  subject: str,
  sid: str,
  auth_time: int,
  amr: json(arrayOf(str)),
  expires_at: int,
});

export class SessionStore {
  constructor(private readonly db: D1Database) {}

  /** Starts a session; returns the secret id for the cookie (never stored) and the session. */
  async create(subject: string, lifetime: number, amr: string[] = ["pwd"]): Promise<{ id: string; session: Session }> {
    const id = randomHandle(32);
    const now = Math.floor(Date.now() / 1000);
    const session: Session = { subject, sid: randomHandle(16), authTime: now, amr, expiresAt: now + lifetime };
    await this.db
      .prepare(
        "INSERT INTO sessions (id_hash, subject, sid, auth_time, amr, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      )
      .bind(await sha256Hex(id), subject, session.sid, now, JSON.stringify(amr), now, session.expiresAt)
      .run();
    return { id, session };
  }

  /** The live session for a cookie's id, or undefined when unknown, signed out or expired. */
  async find(id: string): Promise<Session | undefined> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
    const row = await this.db
      .prepare("SELECT subject, sid, auth_time, amr, expires_at FROM sessions WHERE id_hash = ? AND expires_at > ?")
      .bind(await sha256Hex(id), Math.floor(Date.now() / 1000))
      .first();
    // A row that does not parse signs nobody in (logged).
    const session = row ? readStored("sessions", sessionRecord, row) : undefined;
    if (!session) return undefined;
    return {
      subject: session.subject,
      sid: session.sid,
      authTime: session.auth_time,
      amr: session.amr,
      expiresAt: session.expires_at,
    };
  }

  async delete(id: string): Promise<void> {
    await this.db
      .prepare("DELETE FROM sessions WHERE id_hash = ?")
      .bind(await sha256Hex(id))
      .run();
  }

  /** Removes expired rows; called opportunistically on sign-in. */
  async deleteExpired(): Promise<void> {
    await this.db
      .prepare("DELETE FROM sessions WHERE expires_at <= ?")
      .bind(Math.floor(Date.now() / 1000))
      .run();
  }
}
