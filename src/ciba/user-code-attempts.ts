/**
 * Limits user_code guessing (CIBA §7.1 user_code, §13 invalid_user_code): at most
 * USER_CODE_MAX_FAILURES wrong codes per user, and USER_CODE_CLIENT_MAX_FAILURES per client
 * across all users, in a window of USER_CODE_LOCKOUT seconds that starts at the first wrong
 * code. Once the window's allowance is used up, every attempt (the right code too) is refused
 * with 429 and Retry-After until the window ends.
 *
 * The count must be strongly consistent, or parallel guesses at several edge locations would
 * each see a fresh allowance: one Durable Object per user (`user:<sub>`) and one per client
 * (`client:<client_id>`). An attempt *reserves* a failure before the code is compared, in one
 * synchronous read-check-write; a right code then gives its reservation back. So 40 guesses
 * sent at once get at most the allowance checked, and a guess whose Worker dies before it
 * settles counts as wrong (the safe side).
 */
import { DurableObject } from "cloudflare:workers";
import { int, object, readStored } from "../parse";

export type Attempt = { allowed: true } | { allowed: false; retryAfter: number };

interface AttemptsRow {
  failures: number;
  /** Epoch seconds when the current window (begun by its first failure) ends. */
  window_end: number;
}

const attemptsRow = object<AttemptsRow>({ failures: int, window_end: int });

export class UserCodeAttempts extends DurableObject<object> {
  private readonly sql: SqlStorage;

  // The object reads nothing from the Worker's env: it stores, it does not call out.
  constructor(ctx: DurableObjectState, env: object) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS attempts (id INTEGER PRIMARY KEY CHECK (id = 1), failures INTEGER NOT NULL, window_end INTEGER NOT NULL)",
    );
  }

  /**
   * Reserves one failure if the window has room (`allowed`), else says how long until it ends.
   * `window` in seconds. Synchronous from read to write, so concurrent calls cannot both take
   * the last place.
   */
  async attempt(maxFailures: number, window: number): Promise<Attempt> {
    const now = Math.floor(Date.now() / 1000);
    const row = this.row();
    const current = row && row.window_end > now ? row : { failures: 0, window_end: now + window };
    if (current.failures >= maxFailures) return { allowed: false, retryAfter: Math.max(1, current.window_end - now) };
    // A window begins with its first failure.
    const windowEnd = current.failures === 0 ? now + window : current.window_end;
    this.sql.exec(
      "INSERT OR REPLACE INTO attempts (id, failures, window_end) VALUES (1, ?, ?)",
      current.failures + 1,
      windowEnd,
    );
    // The object forgets everything once its window is over (one alarm write per window).
    if (current.failures === 0) await this.ctx.storage.setAlarm((windowEnd + 1) * 1000);
    return { allowed: true };
  }

  /** Gives back a reservation: the code was right (or was never compared). */
  async release(): Promise<void> {
    this.sql.exec("UPDATE attempts SET failures = MAX(0, failures - 1)");
  }

  override async alarm(): Promise<void> {
    const row = this.row();
    // A later window may have begun since this alarm was set: wait for its end instead.
    if (row && row.window_end * 1000 >= Date.now()) await this.ctx.storage.setAlarm((row.window_end + 1) * 1000);
    else this.sql.exec("DELETE FROM attempts");
  }

  /**
   * The current window. Fails closed: a row that does not parse is replaced by a window whose
   * allowance is used up for the next minute.
   */
  private row(): AttemptsRow | undefined {
    const row = this.sql.exec("SELECT failures, window_end FROM attempts").toArray()[0];
    if (row === undefined) return undefined;
    const parsed = readStored("user_code attempts", attemptsRow, row);
    if (parsed) return parsed;
    const usedUp = { failures: Number.MAX_SAFE_INTEGER, window_end: Math.floor(Date.now() / 1000) + 60 };
    this.sql.exec(
      "INSERT OR REPLACE INTO attempts (id, failures, window_end) VALUES (1, ?, ?)",
      usedUp.failures,
      usedUp.window_end,
    );
    return usedUp;
  }
}
