/**
 * A durable storage adapter for oidc-provider on SQLite (node:sqlite, built into Node 22), set up
 * the way its users deploy one: a database file, WAL journal, one table per model (like the
 * package's contributed SQL adapter), with the columns the provider looks things up by (`grantId`,
 * `uid`, `userCode`) indexed, and the payload as JSON. Every `upsert`, `consume` and `destroy` is
 * its own committed transaction (SQLite's autocommit), with `synchronous` left at SQLite's default
 * (FULL): each commit is durable when it returns.
 *
 * Expired entries are skipped on read, like the package's own adapters; deleting them is left to
 * a periodic job, which the benchmark does not run (its runs are shorter than any lifetime).
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { Adapter, AdapterPayload } from "oidc-provider";

let database: DatabaseSync | undefined;

/** Opens (creating it if needed) the one database file all models share. */
export function openDatabase(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  db.exec("PRAGMA journal_mode = WAL");
  database = db;
  return db;
}

interface Statements {
  upsert: StatementSync;
  find: StatementSync;
  findByUid: StatementSync;
  findByUserCode: StatementSync;
  consume: StatementSync;
  destroy: StatementSync;
  revokeByGrantId: StatementSync;
}

const byModel = new Map<string, Statements>();

/** The model's table (created on first use) and its prepared statements. */
function statementsFor(model: string): Statements {
  const cached = byModel.get(model);
  if (cached) return cached;
  if (!database) throw new Error("openDatabase() first");
  if (!/^[A-Za-z]+$/.test(model)) throw new Error(`unexpected model name ${model}`);
  const table = `oidc_${model.toLowerCase()}`;
  database.exec(`CREATE TABLE IF NOT EXISTS ${table} (
    id TEXT PRIMARY KEY,
    grant_id TEXT,
    user_code TEXT,
    uid TEXT,
    data TEXT NOT NULL,
    expires_at INTEGER,
    consumed_at INTEGER
  )`);
  database.exec(`CREATE INDEX IF NOT EXISTS ${table}_grant_id ON ${table} (grant_id)`);
  database.exec(`CREATE INDEX IF NOT EXISTS ${table}_uid ON ${table} (uid)`);
  database.exec(`CREATE INDEX IF NOT EXISTS ${table}_user_code ON ${table} (user_code)`);
  const live = "(expires_at IS NULL OR expires_at > ?)";
  const statements: Statements = {
    upsert: database.prepare(
      `INSERT INTO ${table} (id, grant_id, user_code, uid, data, expires_at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET grant_id = excluded.grant_id, user_code = excluded.user_code,
         uid = excluded.uid, data = excluded.data, expires_at = excluded.expires_at`,
    ),
    find: database.prepare(`SELECT data, consumed_at FROM ${table} WHERE id = ? AND ${live}`),
    findByUid: database.prepare(`SELECT data, consumed_at FROM ${table} WHERE uid = ? AND ${live}`),
    findByUserCode: database.prepare(`SELECT data, consumed_at FROM ${table} WHERE user_code = ? AND ${live}`),
    consume: database.prepare(`UPDATE ${table} SET consumed_at = ? WHERE id = ?`),
    destroy: database.prepare(`DELETE FROM ${table} WHERE id = ?`),
    revokeByGrantId: database.prepare(`DELETE FROM ${table} WHERE grant_id = ?`),
  };
  byModel.set(model, statements);
  return statements;
}

const now = () => Math.floor(Date.now() / 1000);

interface Row {
  data: string;
  consumed_at: number | null;
}

function payloadOf(row: unknown): AdapterPayload | undefined {
  if (!row) return undefined;
  const { data, consumed_at: consumedAt } = row as Row;
  const payload = JSON.parse(data) as AdapterPayload;
  return consumedAt === null ? payload : { ...payload, consumed: consumedAt };
}

export class SqliteAdapter implements Adapter {
  private readonly sql: Statements;

  constructor(model: string) {
    this.sql = statementsFor(model);
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    this.sql.upsert.run(
      id,
      payload.grantId ?? null,
      payload.userCode ?? null,
      payload.uid ?? null,
      JSON.stringify(payload),
      expiresIn ? now() + expiresIn : null,
    );
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return payloadOf(this.sql.find.get(id, now()));
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return payloadOf(this.sql.findByUid.get(uid, now()));
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return payloadOf(this.sql.findByUserCode.get(userCode, now()));
  }

  async consume(id: string): Promise<void> {
    this.sql.consume.run(now(), id);
  }

  async destroy(id: string): Promise<void> {
    this.sql.destroy.run(id);
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    this.sql.revokeByGrantId.run(grantId);
  }
}
