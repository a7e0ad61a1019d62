/**
 * The `DB` D1 database through `wrangler d1 execute --json`: the local one that `npm start` and
 * `wrangler dev` use (.wrangler/state), or the deployed one (`--remote`, needs `wrangler login`
 * or CLOUDFLARE_API_TOKEN). SQL comes from scripts/lib/sql.ts, which renders every value as a
 * literal: wrangler's CLI has no parameter binding.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runWrangler, WranglerError } from "./wrangler.ts";

export type D1Target = "local" | "remote";

/** An SQL error reported by D1 (a constraint, a missing table…), with D1's own message. */
export class D1Error extends Error {
  override name = "D1Error";
}

interface StatementResult {
  results?: Record<string, unknown>[];
  success?: boolean;
}

async function execute(target: D1Target, input: string[]): Promise<Record<string, unknown>[][]> {
  const args = ["d1", "execute", "DB", `--${target}`, "--json", "--yes", ...input];
  const result = await runWrangler(args);
  let parsed: unknown;
  try {
    parsed = JSON.parse(result.stdout);
  } catch {
    parsed = undefined;
  }
  const error = (parsed as { error?: { text?: string } } | undefined)?.error;
  if (error?.text) throw new D1Error(error.text);
  if (result.code !== 0 || !Array.isArray(parsed)) throw new WranglerError(`d1 execute DB --${target}`, result);
  return (parsed as StatementResult[]).map((statement) => statement.results ?? []);
}

/** Runs one or more statements (given as text on the command line); returns each one's rows. */
export function d1Command(target: D1Target, sql: string): Promise<Record<string, unknown>[][]> {
  return execute(target, ["--command", sql]);
}

/** Runs an SQL script through a temporary file, for longer multi-statement input such as the seed. */
export async function d1File(target: D1Target, sql: string): Promise<Record<string, unknown>[][]> {
  const dir = mkdtempSync(join(tmpdir(), "edge-op-sql-"));
  try {
    const file = join(dir, "statements.sql");
    writeFileSync(file, sql, { mode: 0o600 });
    return await execute(target, ["--file", file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
