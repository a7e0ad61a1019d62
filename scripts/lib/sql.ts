/**
 * SQL text for `wrangler d1 execute`, which takes statements as text and has no parameter
 * binding. Every value goes through `sqlLiteral` and every table or column name through
 * `sqlIdentifier`, so nothing a user types can end a string literal or add a statement.
 * Used by the dev seed (scripts/lib/dev-seed.ts) and the admin tool (scripts/admin.ts).
 */

import { CLIENT_COLUMNS, type clientRow } from "../../src/clients/registry.ts";

export type SqlValue = string | number | boolean | null | undefined;

/**
 * A value as an SQLite literal: strings single-quoted with every `'` doubled (the only escape
 * SQLite string literals have; backslashes are ordinary characters), integers as digits,
 * booleans as 1/0, null/undefined as NULL.
 */
export function sqlLiteral(value: SqlValue): string {
  if (value === null || value === undefined) return "NULL";
  if (typeof value === "boolean") return value ? "1" : "0";
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new TypeError(`not an integer SQL value: ${value}`);
    return String(value);
  }
  // SQLite stops reading a string at NUL, which would silently truncate the value.
  if (value.includes("\0")) throw new TypeError("SQL text values cannot contain NUL characters");
  return `'${value.replaceAll("'", "''")}'`;
}

/** A table or column name; only plain lower-case identifiers are accepted, so no quoting is needed. */
export function sqlIdentifier(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new TypeError(`not a plain SQL identifier: ${name}`);
  return name;
}

/** A row to insert: column name to value (interfaces such as the src/ row types qualify). */
export type Row<R> = { readonly [K in keyof R]: SqlValue };

/** `INSERT [OR REPLACE] INTO table (…) VALUES (…);` for one row, in the given column order. */
export function insertStatement<R extends Row<R>>(
  table: string,
  row: R,
  options: { columns?: readonly (keyof R & string)[]; orReplace?: boolean } = {},
): string {
  const columns = options.columns ?? (Object.keys(row) as (keyof R & string)[]);
  const verb = options.orReplace ? "INSERT OR REPLACE" : "INSERT";
  return `${verb} INTO ${sqlIdentifier(table)} (${columns.map(sqlIdentifier).join(", ")}) VALUES (${columns
    .map((column) => sqlLiteral(row[column]))
    .join(", ")});`;
}

/**
 * `INSERT INTO table (…) VALUES (…) ON CONFLICT (key) DO UPDATE SET …;`: inserts the row, or
 * updates the existing one in place, leaving the `keep` columns as they were. Unlike INSERT OR
 * REPLACE, an update keeps what the row had: for a client, `created_at` (its client_id_issued_at,
 * which dates its tokens: src/tokens/token-client.ts) and the columns the row does not name.
 */
export function upsertStatement<R extends Row<R>>(
  table: string,
  row: R,
  options: { columns: readonly (keyof R & string)[]; key: keyof R & string; keep?: readonly (keyof R & string)[] },
): string {
  const insert = insertStatement(table, row, { columns: options.columns }).replace(/;$/, "");
  const updated = options.columns.filter((column) => column !== options.key && !options.keep?.includes(column));
  const set = updated.map((column) => `${sqlIdentifier(column)} = excluded.${sqlIdentifier(column)}`).join(", ");
  return `${insert} ON CONFLICT (${sqlIdentifier(options.key)}) DO UPDATE SET ${set};`;
}

/** A client row (clientRow's), inserted or (same client_id) updated with its registration time kept. */
export function clientUpsertStatement(row: Awaited<ReturnType<typeof clientRow>>): string {
  return upsertStatement("clients", row, { columns: CLIENT_COLUMNS, key: "client_id", keep: ["created_at"] });
}

/** `DELETE FROM table WHERE column = value RETURNING column;` (RETURNING tells whether a row existed). */
export function deleteStatement(table: string, column: string, value: SqlValue): string {
  const name = sqlIdentifier(column);
  return `DELETE FROM ${sqlIdentifier(table)} WHERE ${name} = ${sqlLiteral(value)} RETURNING ${name};`;
}
