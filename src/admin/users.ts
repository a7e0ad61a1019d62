/**
 * User operations of the console on D1 table `users`, as the CLI does them: rows made by the
 * provider's own `userRow` (password hashed, user_code as a keyed HMAC), every change one D1
 * batch with its audit row. Passwords and user codes are never recorded.
 */
import { hashPassword } from "../crypto/password";
import { object, type Parser, readStored, str } from "../parse";
import { type UserRegistration, userRow } from "../users/store";
import { hashUserCode, userCodeProblem } from "../users/user-code";
import type { AdminStore } from "./store";

export interface UserSummary {
  sub: string;
  username: string;
  email: string | null;
  name: string | null;
  has_user_code: string;
}

const nullableText: Parser<string | null> = (value, at) => (value === null ? null : str(value, at));
const summaryRecord: Parser<UserSummary> = object<UserSummary>({
  sub: str,
  username: str,
  email: nullableText,
  name: nullableText,
  has_user_code: str,
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
  "SELECT sub, username, email, name, CASE WHEN user_code_hash IS NULL THEN 'no' ELSE 'yes' END AS has_user_code FROM users";

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
