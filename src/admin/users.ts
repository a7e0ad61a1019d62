/**
 * User operations of the console on D1 table `users`, as the CLI does them: rows made by the
 * provider's own `userRow` (password hashed, user_code as a keyed HMAC), every change one D1
 * batch with its audit row. Passwords and user codes are never recorded.
 */

import type { BackchannelAuthenticationRequest } from "../ciba/model";
import type { RequestContext } from "../context";
import { hashPassword } from "../crypto/password";
import { revokeGrants } from "../logout/sign-out";
import { int, object, type Parser, readStored, str } from "../parse";
import { type UserRegistration, userRow } from "../users/store";
import { hashUserCode, userCodeProblem } from "../users/user-code";
import type { AdminStore } from "./store";

export interface UserSummary {
  sub: string;
  username: string;
  email: string | null;
  name: string | null;
  has_user_code: string;
  /** When the user was disabled (Unix seconds), or null: an active user. */
  disabled_at: number | null;
}

const nullableText: Parser<string | null> = (value, at) => (value === null ? null : str(value, at));
const nullableInt: Parser<number | null> = (value, at) => (value === null ? null : int(value, at));
const summaryRecord: Parser<UserSummary> = object<UserSummary>({
  sub: str,
  username: str,
  email: nullableText,
  name: nullableText,
  has_user_code: str,
  disabled_at: nullableInt,
});

export class UserInputError extends Error {
  override name = "UserInputError";
  constructor(
    readonly field: "username" | "password" | "user_code" | "email",
    message: string,
  ) {
    super(message);
  }
}

const SELECT =
  "SELECT sub, username, email, name, CASE WHEN user_code_hash IS NULL THEN 'no' ELSE 'yes' END AS has_user_code, disabled_at FROM users";

export class UserAdmin {
  constructor(
    private readonly db: D1Database,
    private readonly admin: AdminStore,
    private readonly dataEncryptionKey: string | undefined,
  ) {}

  /** Users whose username, e-mail or name contains `search`, by username. */
  async list(search = "", limit = 200): Promise<UserSummary[]> {
    const like = `%${search.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
    const { results } = await this.db
      .prepare(
        `${SELECT} WHERE username LIKE ?1 ESCAPE '\\' OR email LIKE ?1 ESCAPE '\\' OR name LIKE ?1 ESCAPE '\\' ORDER BY username LIMIT ?2`,
      )
      .bind(like, limit)
      .all();
    return results.flatMap((row) => readStored("users", summaryRecord, row) ?? []);
  }

  async get(sub: string): Promise<UserSummary | undefined> {
    const row = await this.db.prepare(`${SELECT} WHERE sub = ?`).bind(sub).first();
    return row ? readStored("users", summaryRecord, row) : undefined;
  }

  async create(reg: UserRegistration, actor: string): Promise<string> {
    if (reg.email !== undefined && !/^[^\s@]+@[^\s@]+$/.test(reg.email)) {
      throw new UserInputError("email", "This is not an e-mail address.");
    }
    let row: Awaited<ReturnType<typeof userRow>>;
    try {
      row = await userRow(reg, this.dataEncryptionKey);
    } catch (error) {
      // userRow throws only for an invalid username, password or user_code, saying which.
      const message = (error as Error).message;
      const field = message.startsWith("username")
        ? "username"
        : message.startsWith("password")
          ? "password"
          : "user_code";
      throw new UserInputError(field, message);
    }
    const taken = await this.db
      .prepare("SELECT 1 AS taken FROM users WHERE username = ?1 OR (?2 IS NOT NULL AND email = ?2)")
      .bind(row.username, row.email)
      .first();
    if (taken) throw new UserInputError("username", "A user with this username or e-mail address exists already.");
    const columns = Object.keys(row) as (keyof typeof row)[];
    await this.db.batch([
      this.db
        .prepare(`INSERT INTO users (${columns.join(", ")}) VALUES (${columns.map(() => "?").join(", ")})`)
        .bind(...columns.map((column) => row[column])),
      this.admin.auditStatement(actor, "user.create", row.sub, row.username),
    ]);
    return row.sub;
  }

  async resetPassword(sub: string, password: string, actor: string): Promise<void> {
    if (password.length < 8) throw new UserInputError("password", "password must have at least 8 characters");
    await this.db.batch([
      this.db.prepare("UPDATE users SET password_hash = ? WHERE sub = ?").bind(await hashPassword(password), sub),
      // Sessions of the old password end with it.
      this.db.prepare("DELETE FROM sessions WHERE subject = ?").bind(sub),
      this.admin.auditStatement(actor, "user.reset_password", sub),
    ]);
  }

  /**
   * Disables or enables a user. Disabled, the user store finds the user nowhere (no sign-in,
   * unknown_user_id at /bc-authorize), the user's sessions end in the same batch, and then
   * `endGrants` revokes what the user granted. Enabling restores the account, not its old tokens.
   */
  async setDisabled(sub: string, disabled: boolean, actor: string): Promise<void> {
    await this.db.batch([
      // Disabling again keeps the first date.
      disabled
        ? this.db.prepare("UPDATE users SET disabled_at = COALESCE(disabled_at, ?) WHERE sub = ?").bind(now(), sub)
        : this.db.prepare("UPDATE users SET disabled_at = NULL WHERE sub = ?").bind(sub),
      ...(disabled ? [this.db.prepare("DELETE FROM sessions WHERE subject = ?").bind(sub)] : []),
      this.admin.auditStatement(actor, disabled ? "user.disable" : "user.enable", sub),
    ]);
  }

  /** Sets the user's CIBA user_code, or clears it with `undefined`. */
  async setUserCode(sub: string, code: string | undefined, actor: string): Promise<void> {
    if (code !== undefined) {
      const problem = userCodeProblem(code);
      if (problem) throw new UserInputError("user_code", problem);
    }
    const hash = code === undefined ? null : await hashUserCode(this.dataEncryptionKey, sub, code);
    await this.db.batch([
      this.db.prepare("UPDATE users SET user_code_hash = ? WHERE sub = ?").bind(hash, sub),
      this.admin.auditStatement(actor, code === undefined ? "user.clear_user_code" : "user.set_user_code", sub),
    ]);
  }
}

/**
 * Revokes every grant of a disabled user: its refresh-token family (the refresh_token grant
 * refuses it) and, through revoked_grants (reason user_removed: the CHECK of
 * migrations/0040 has no "disabled"), its access tokens at edge-op's own endpoints. The same
 * path as withdrawing a client on the account page (src/logout/account.ts).
 */
export async function endGrantsOf(ctx: RequestContext, sub: string): Promise<void> {
  const grants = await ctx.stores.sessionGrants.forSubject(sub);
  await revokeGrants(ctx, grants, "user_removed");
  await ctx.stores.sessionGrants.deleteGrants(grants.map((grant) => grant.grantId));
}

function now(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * The user's pending CIBA requests as their own objects hold them now. The user's pending list
 * keeps each request as it was when listed, so its notification status there stays "pending
 * (0 attempts)"; a failed notice shows only in the request's own record (src/ciba/request-object.ts).
 * One read per pending request, which the per-user limit keeps few.
 */
export async function pendingRequestsOf(ctx: RequestContext, sub: string): Promise<BackchannelAuthenticationRequest[]> {
  const store = ctx.stores.backchannelRequests;
  const listed = await store.getLoginsForUser(sub);
  const live = await Promise.all(listed.map((request) => store.getByInternalId(request.internalId)));
  return listed.flatMap((request, i) => {
    const current = live[i];
    if (current === undefined) return [request];
    return current.isComplete ? [] : [current];
  });
}
