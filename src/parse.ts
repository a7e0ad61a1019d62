/**
 * Reading what edge-op stored (D1 rows, KV values, Durable Object records, JSON columns) as data
 * of a known shape, not by casting: a tiny schema helper. A parser checks a value and returns it
 * typed, or throws ParseProblem saying where it differs; `readStored` turns that into "absent"
 * and logs `storage_record_malformed` (the store and the problem, never the record). So a
 * damaged or foreign record fails closed: treated as not there, never a TypeError deep inside a
 * request. Schemas are written against the interfaces they produce (`object<Client>({…})`), so
 * the compiler holds each schema to its type.
 */
import { logger } from "./log";

export class ParseProblem extends Error {
  override name = "ParseProblem";
}

/** Checks `value` (found at `at`, for the message) and returns it typed, or throws ParseProblem. */
export type Parser<T> = (value: unknown, at: string) => T;

function fail(at: string, expected: string): never {
  throw new ParseProblem(`${at || "value"}: expected ${expected}`);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export const str: Parser<string> = (value, at) => (typeof value === "string" ? value : fail(at, "a string"));

export const num: Parser<number> = (value, at) =>
  typeof value === "number" && Number.isFinite(value) ? value : fail(at, "a number");

export const int: Parser<number> = (value, at) =>
  typeof value === "number" && Number.isSafeInteger(value) ? value : fail(at, "an integer");

export const bool: Parser<boolean> = (value, at) => (typeof value === "boolean" ? value : fail(at, "a boolean"));

/** SQLite has no booleans: 0 or 1. */
export const bit: Parser<boolean> = (value, at) => (value === 0 || value === 1 ? value === 1 : fail(at, "0 or 1"));

export function oneOf<const T extends string>(values: readonly T[]): Parser<T> {
  return (value, at) => values.find((known) => known === value) ?? fail(at, `one of ${values.join(", ")}`);
}

/** Absent (undefined) stays absent. */
export function optional<T>(parser: Parser<T>): Parser<T | undefined> {
  return (value, at) => (value === undefined ? undefined : parser(value, at));
}

/** A SQL NULL reads as absent. */
export function nullable<T>(parser: Parser<T>): Parser<T | undefined> {
  return (value, at) => (value === null || value === undefined ? undefined : parser(value, at));
}

export function arrayOf<T>(parser: Parser<T>): Parser<T[]> {
  return (value, at) =>
    Array.isArray(value) ? value.map((item, i) => parser(item, `${at}[${i}]`)) : fail(at, "an array");
}

/**
 * An object with exactly these fields checked; other fields are dropped, and a field whose
 * parser yields undefined is left out (absent, as in the stored JSON).
 */
export function object<T>(shape: { [K in keyof T]-?: Parser<T[K]> }): Parser<T> {
  return (value, at) => {
    if (!isRecord(value)) return fail(at, "an object");
    const result: Partial<T> = {};
    for (const key of Object.keys(shape) as (keyof T & string)[]) {
      const parsed = shape[key](value[key], at ? `${at}.${key}` : key);
      if (parsed !== undefined) result[key] = parsed;
    }
    // Every key of T has a parser, and each was applied above.
    return result as T;
  };
}

/** A string holding JSON (a TEXT column, a KV value, a decrypted payload), parsed by `parser`. */
export function json<T>(parser: Parser<T>): Parser<T> {
  return (value, at) => {
    const text = str(value, at);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return fail(at, "JSON");
    }
    return parser(parsed, at);
  };
}

/**
 * A stored value read through `parser`; undefined (and logged, the store named) when it does
 * not have the shape edge-op writes.
 */
export function readStored<T>(store: string, parser: Parser<T>, value: unknown): T | undefined {
  try {
    return parser(value, "");
  } catch (error) {
    if (!(error instanceof ParseProblem)) throw error;
    logger.error("storage_record_malformed", { store, problem: error.message.slice(0, 200) });
    return undefined;
  }
}
