/**
 * D1UserStore, the default UserStore (src/stores.ts): users in D1 table `users`. Passwords are
 * PBKDF2 hashes (src/crypto/password.ts); CIBA user_codes are keyed hashes
 * (src/users/user-code.ts). `userRow` makes the row for a new user (the admin tool, the dev seed).
 */
import { hashPassword } from "../crypto/password";
import { bit, nullable, object, type Parser, readStored, str } from "../parse";
import type { UserStore } from "../stores";
import type { User } from "./user";
import { hashUserCode, userCodeProblem } from "./user-code";

interface UserRowData {
  sub: string;
  username: string;
  email: string | null;
  email_verified: number;
  phone_number: string | null;
  phone_number_verified: number;
  name: string | null;
  given_name: string | null;
  family_name: string | null;
  password_hash: string;
  user_code_hash: string | null;
  created_at: number;
}

/**
 * A user disabled in the console (`disabled_at`, migrations/0095_user_disable.sql) is found by
 * no lookup: not at sign-in, not as a CIBA hint (unknown_user_id, CIBA §13), not at /userinfo.
 */
export class D1UserStore implements UserStore {
  constructor(private readonly db: D1Database) {}

  async findBySubject(sub: string): Promise<User | undefined> {
    const row = await this.db.prepare("SELECT * FROM users WHERE sub = ? AND disabled_at IS NULL").bind(sub).first();
    return row ? readStored("users", userRecord, row) : undefined;
  }

  async findByUsername(username: string): Promise<User | undefined> {
    const row = await this.db
      .prepare("SELECT * FROM users WHERE username = ? AND disabled_at IS NULL")
      .bind(username)
      .first();
    return row ? readStored("users", userRecord, row) : undefined;
  }

  async findByEmail(email: string): Promise<User | undefined> {
    const row = await this.db
      .prepare("SELECT * FROM users WHERE email = ? AND disabled_at IS NULL")
      .bind(email)
      .first();
    return row ? readStored("users", userRecord, row) : undefined;
  }

  async findByPhoneNumber(phone: string): Promise<User | undefined> {
    const row = await this.db
      .prepare("SELECT * FROM users WHERE phone_number = ? AND disabled_at IS NULL")
      .bind(phone)
      .first();
    return row ? readStored("users", userRecord, row) : undefined;
  }

  /** A login hint may be a username, an e-mail address or a phone number; each is unique. */
  async findByLoginHint(hint: string): Promise<User | undefined> {
    const row = await this.db
      .prepare(
        "SELECT * FROM users WHERE (username = ?1 OR email = ?1 OR phone_number = ?1) AND disabled_at IS NULL LIMIT 1",
      )
      .bind(hint)
      .first();
    return row ? readStored("users", userRecord, row) : undefined;
  }

  /**
   * Replaces a user_code hash with `next` only if it is still `previous` (a legacy SHA-256
   * being upgraded): a code changed meanwhile by an operator is never overwritten.
   */
  async replaceUserCodeHash(sub: string, previous: string, next: string): Promise<void> {
    await this.db
      .prepare("UPDATE users SET user_code_hash = ? WHERE sub = ? AND user_code_hash = ?")
      .bind(next, sub, previous)
      .run();
  }
}

const nullableText = nullable(str);

/** A `users` row as a User: the columns are the User's fields (booleans as 0/1). */
const userRecord: Parser<User> = object<User>({
  sub: str,
  username: str,
  email: nullableText,
  email_verified: bit,
  phone_number: nullableText,
  phone_number_verified: bit,
  name: nullableText,
  given_name: nullableText,
  family_name: nullableText,
  password_hash: str,
  user_code_hash: nullableText,
});

export interface UserRegistration {
  sub?: string;
  username: string;
  password: string;
  email?: string;
  email_verified?: boolean;
  phone_number?: string;
  phone_number_verified?: boolean;
  name?: string;
  given_name?: string;
  family_name?: string;
  /** CIBA user_code (CIBA §7.1), at least USER_CODE_MIN_LENGTH characters; stored as a keyed hash. */
  user_code?: string;
}

/**
 * The row for a new user; the password and user_code are hashed here and never stored.
 * `dataEncryptionKey` (the DATA_ENCRYPTION_KEY secret) keys the user_code's hash: needed only
 * when the user has one.
 */
export async function userRow(reg: UserRegistration, dataEncryptionKey?: string): Promise<UserRowData> {
  if (!/^[A-Za-z0-9._@+-]{1,64}$/.test(reg.username))
    throw new Error("username must be 1–64 characters of A-Z a-z 0-9 . _ @ + -");
  if (reg.password.length < 8) throw new Error("password must have at least 8 characters");
  const codeProblem = reg.user_code === undefined ? undefined : userCodeProblem(reg.user_code);
  if (codeProblem) throw new Error(codeProblem);
  const sub = reg.sub ?? crypto.randomUUID();
  return {
    sub,
    username: reg.username,
    email: reg.email ?? null,
    email_verified: reg.email_verified ? 1 : 0,
    phone_number: reg.phone_number ?? null,
    phone_number_verified: reg.phone_number_verified ? 1 : 0,
    name: reg.name ?? null,
    given_name: reg.given_name ?? null,
    family_name: reg.family_name ?? null,
    password_hash: await hashPassword(reg.password),
    user_code_hash: reg.user_code === undefined ? null : await hashUserCode(dataEncryptionKey, sub, reg.user_code),
    created_at: Math.floor(Date.now() / 1000),
  };
}
