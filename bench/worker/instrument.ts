/**
 * Counting the platform operations a flow costs, for the benchmark's counting pass only (the
 * timed runs use entry.ts, which has none of this). Everything billable is counted where the
 * product's code touches the platform:
 *
 * - Worker side: the env handed to the app is a copy whose D1, KV and Durable Object namespace
 *   bindings count their calls. D1 rows come from each result's `meta` (`first()` is answered
 *   from `all()` so that its rows are seen too); every method call on a Durable Object stub is
 *   one billed request ("every RPC method call on a stub is its own RPC session").
 * - Durable Object side: each Durable Object class exported by the Worker gets its prototype
 *   methods wrapped; the first call patches the isolate's SqlStorage and DurableObjectStorage
 *   prototypes, so every `sql.exec` cursor is kept (its `rowsRead` / `rowsWritten` are read when
 *   the counters are read) and every `setAlarm` (billed as one row written) is counted. Alarm
 *   invocations (billed as requests) are counted in the wrapped `alarm`.
 *
 * Locally the Worker and its Durable Objects run in one isolate, so one module-level record
 * sees both. GET /__bench/counters returns it; POST /__bench/counters/reset clears it.
 */
import { DurableObject } from "cloudflare:workers";

export const COUNTERS_PATH = "/__bench/counters";

type Counts = Record<string, number>;

interface Counters {
  workerRequests: number;
  doRequests: Counts;
  doAlarms: Counts;
  /** Wall time of Durable Object RPCs seen from the caller, and of alarms: an upper bound of billed duration. */
  doActiveMs: number;
  doSqlStatements: number;
  doSetAlarm: number;
  doDeleteAlarm: number;
  /** deleteAll() calls: what they remove is not counted as rows (the pricing pages do not say how it is billed). */
  doDeleteAll: number;
  /** Rows a deleteAll() removed (the object's tables and key-value entries just before it), for the record. */
  doDeleteAllRows: number;
  /** deleteAll() calls whose rows could not be read (then not in doDeleteAllRows). */
  doDeleteAllRowsUnknown: number;
  /** Key-value API calls (async `storage.get/put/…` and sync `storage.kv.*`): one row read or written each. */
  doKvReads: number;
  doKvWrites: number;
  d1Queries: number;
  d1RowsRead: number;
  d1RowsWritten: number;
  d1RowsUnknown: number;
  kvReads: number;
  kvWrites: number;
  kvDeletes: number;
  kvLists: number;
}

interface Cursor {
  readonly rowsRead: number;
  readonly rowsWritten: number;
}

/** Per SQL statement (whitespace collapsed): calls and rows, for "where do the writes go". */
interface StatementCounts {
  calls: number;
  rowsRead: number;
  rowsWritten: number;
}

function emptyCounters(): Counters {
  return {
    workerRequests: 0,
    doRequests: {},
    doAlarms: {},
    doActiveMs: 0,
    doSqlStatements: 0,
    doSetAlarm: 0,
    doDeleteAlarm: 0,
    doDeleteAll: 0,
    doDeleteAllRows: 0,
    doDeleteAllRowsUnknown: 0,
    doKvReads: 0,
    doKvWrites: 0,
    d1Queries: 0,
    d1RowsRead: 0,
    d1RowsWritten: 0,
    d1RowsUnknown: 0,
    kvReads: 0,
    kvWrites: 0,
    kvDeletes: 0,
    kvLists: 0,
  };
}

let counters = emptyCounters();
let cursors: { sql: string; cursor: Cursor }[] = [];
let d1Statements: Record<string, StatementCounts> = {};

function normalize(sql: unknown): string {
  return String(sql).replace(/\s+/g, " ").trim().slice(0, 160);
}

function bump(record: Counts, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}

export function countWorkerRequest(): void {
  counters.workerRequests += 1;
}

/** GET: the counters, with the SQLite rows of every cursor since the last reset; POST …/reset. */
export function counterRoute(request: Request): Response {
  if (request.method === "POST") {
    counters = emptyCounters();
    cursors = [];
    d1Statements = {};
    return Response.json({ reset: true });
  }
  let doRowsRead = 0;
  let doRowsWritten = 0;
  const doStatements: Record<string, StatementCounts> = {};
  for (const { sql, cursor } of cursors) {
    doRowsRead += cursor.rowsRead;
    doRowsWritten += cursor.rowsWritten;
    const entry = doStatements[sql] ?? { calls: 0, rowsRead: 0, rowsWritten: 0 };
    doStatements[sql] = entry;
    entry.calls += 1;
    entry.rowsRead += cursor.rowsRead;
    entry.rowsWritten += cursor.rowsWritten;
  }
  return Response.json({ ...counters, doRowsRead, doRowsWritten, doStatements, d1Statements });
}

// ---------------------------------------------------------------- Worker-side bindings

type AnyFunction = (...args: unknown[]) => unknown;
type Target = Record<string | symbol, unknown>;

interface D1Meta {
  rows_read?: number;
  rows_written?: number;
}

function recordD1(sql: string, meta: D1Meta | undefined): void {
  counters.d1Queries += 1;
  const entry = d1Statements[sql] ?? { calls: 0, rowsRead: 0, rowsWritten: 0 };
  d1Statements[sql] = entry;
  entry.calls += 1;
  if (typeof meta?.rows_read === "number" && typeof meta.rows_written === "number") {
    counters.d1RowsRead += meta.rows_read;
    counters.d1RowsWritten += meta.rows_written;
    entry.rowsRead += meta.rows_read;
    entry.rowsWritten += meta.rows_written;
  } else {
    counters.d1RowsUnknown += 1;
  }
}

const REAL = Symbol("real");
const SQL = Symbol("sql");

function method(target: Target, name: string | symbol): unknown {
  const value = Reflect.get(target, name, target);
  return typeof value === "function" ? (value as AnyFunction).bind(target) : value;
}

function wrapD1Statement(statement: Target, sql: string): Target {
  return new Proxy(statement, {
    get(target, name) {
      if (name === REAL) return target;
      if (name === SQL) return sql;
      if (name === "bind") {
        return (...args: unknown[]) => wrapD1Statement((target.bind as AnyFunction)(...args) as Target, sql);
      }
      if (name === "first") {
        return async (column?: string) => {
          const result = (await (target.all as AnyFunction)()) as { results: Record<string, unknown>[]; meta: D1Meta };
          recordD1(sql, result.meta);
          const row = result.results[0];
          if (row === undefined) return null;
          return column === undefined ? row : (row[column] ?? null);
        };
      }
      if (name === "run" || name === "all") {
        return async (...args: unknown[]) => {
          const result = (await (target[name] as AnyFunction)(...args)) as { meta: D1Meta };
          recordD1(sql, result.meta);
          return result;
        };
      }
      if (name === "raw") {
        return (...args: unknown[]) => {
          recordD1(sql, undefined);
          return (target.raw as AnyFunction)(...args);
        };
      }
      return method(target, name);
    },
  });
}

function wrapD1(db: Target): Target {
  return new Proxy(db, {
    get(target, name) {
      if (name === "prepare") {
        return (sql: string) => wrapD1Statement((target.prepare as AnyFunction)(sql) as Target, normalize(sql));
      }
      if (name === "batch") {
        return async (statements: Target[]) => {
          const real = statements.map((s) => (s[REAL] as Target | undefined) ?? s);
          const results = (await (target.batch as AnyFunction)(real)) as { meta: D1Meta }[];
          for (const [i, result] of results.entries()) recordD1(String(statements[i]?.[SQL] ?? "batch"), result.meta);
          return results;
        };
      }
      if (name === "exec") {
        return (...args: unknown[]) => {
          recordD1(normalize(args[0]), undefined);
          return (target.exec as AnyFunction)(...args);
        };
      }
      return method(target, name);
    },
  });
}

const KV_COUNTERS: Record<string, keyof Counters> = {
  get: "kvReads",
  getWithMetadata: "kvReads",
  put: "kvWrites",
  delete: "kvDeletes",
  list: "kvLists",
};

function wrapKv(kv: Target): Target {
  return new Proxy(kv, {
    get(target, name) {
      const counter = typeof name === "string" ? KV_COUNTERS[name] : undefined;
      const value = method(target, name);
      if (!counter || typeof value !== "function") return value;
      return (...args: unknown[]) => {
        (counters[counter] as number) += 1;
        return (value as AnyFunction)(...args);
      };
    },
  });
}

/** Adds the wall time until `call`'s promise settles to doActiveMs (Date.now advances across I/O). */
function timed(call: () => unknown): unknown {
  const start = Date.now();
  const result = call();
  if (typeof (result as Promise<unknown> | undefined)?.then !== "function") return result;
  return (result as Promise<unknown>).then(
    (value) => {
      counters.doActiveMs += Date.now() - start;
      return value;
    },
    (error: unknown) => {
      counters.doActiveMs += Date.now() - start;
      throw error;
    },
  );
}

const NOT_RPC = new Set(["then", "id", "name", "constructor"]);

function wrapStub(stub: Target, binding: string): Target {
  return new Proxy(stub, {
    get(target, name) {
      const value = Reflect.get(target, name, target);
      if (typeof name !== "string" || NOT_RPC.has(name) || typeof value !== "function") return value;
      return (...args: unknown[]) => {
        bump(counters.doRequests, binding);
        return timed(() => Reflect.apply(value as AnyFunction, target, args));
      };
    },
  });
}

function wrapNamespace(namespace: Target, binding: string): Target {
  return new Proxy(namespace, {
    get(target, name) {
      const value = method(target, name);
      if ((name === "get" || name === "getByName") && typeof value === "function") {
        return (...args: unknown[]) => wrapStub((value as AnyFunction)(...args) as Target, binding);
      }
      return value;
    },
  });
}

function hasMethods(value: unknown, ...names: string[]): value is Target {
  return typeof value === "object" && value !== null && names.every((n) => typeof Reflect.get(value, n) === "function");
}

const wrappedEnvs = new WeakMap<object, object>();

/** The env with counting bindings; one copy per real env, so per-env caches in src/ still hit. */
export function instrumentEnv<E extends object>(env: E): E {
  const cached = wrappedEnvs.get(env);
  if (cached) return cached as E;
  const copy: Target = {};
  for (const [name, value] of Object.entries(env)) {
    if (hasMethods(value, "prepare", "batch")) copy[name] = wrapD1(value);
    else if (hasMethods(value, "idFromName", "get")) copy[name] = wrapNamespace(value, name);
    else if (hasMethods(value, "get", "put", "list", "delete")) copy[name] = wrapKv(value);
    else copy[name] = value;
  }
  wrappedEnvs.set(env, copy);
  return copy as E;
}

// ---------------------------------------------------------------- Durable Object side

let storagePatched = false;
/** While the instrument reads an object's storage for its own records, nothing is counted. */
let suspended = false;

interface Rows {
  toArray(): Record<string, unknown>[];
}
type Storage = Target & {
  sql?: Target & { exec(query: string): Rows };
  kv?: Target & { list(): Iterable<unknown> };
};

/** The rows an object holds (its own tables and its key-value entries): what a deleteAll() removes. */
function rowsHeld(storage: Storage): number {
  suspended = true;
  try {
    let rows = 0;
    if (storage.sql) {
      const tables = storage.sql
        .exec(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\' AND name NOT LIKE '\\_\\_cf\\_%' ESCAPE '\\'",
        )
        .toArray();
      for (const { name } of tables) {
        const [row] = storage.sql.exec(`SELECT count(*) AS n FROM "${String(name).replace(/"/g, '""')}"`).toArray();
        rows += Number(row?.n ?? 0);
      }
    }
    if (storage.kv) rows += [...storage.kv.list()].length;
    return rows;
  } catch {
    counters.doDeleteAllRowsUnknown += 1;
    return 0;
  } finally {
    suspended = false;
  }
}

function patchPrototypeMethod(prototype: Target, name: string, wrap: (original: AnyFunction) => AnyFunction): void {
  const original = prototype[name];
  if (typeof original !== "function") return;
  Object.defineProperty(prototype, name, {
    value: wrap(original as AnyFunction),
    writable: true,
    configurable: true,
    enumerable: false,
  });
}

function patchStorage(ctx: { storage: Storage }): void {
  if (storagePatched) return;
  storagePatched = true;
  const storage = ctx.storage;
  if (storage.sql) {
    patchPrototypeMethod(
      Object.getPrototypeOf(storage.sql) as Target,
      "exec",
      (original) =>
        function (this: unknown, ...args: unknown[]) {
          const cursor = original.apply(this, args) as Cursor;
          if (suspended) return cursor;
          counters.doSqlStatements += 1;
          cursors.push({ sql: normalize(args[0]), cursor });
          return cursor;
        },
    );
  }
  const storagePrototype = Object.getPrototypeOf(storage) as Target;
  // put({ a, b }) and delete([a, b]) write one row per key.
  const keys = (args: unknown[]) =>
    Array.isArray(args[0]) ? args[0].length : typeof args[0] === "object" && args[0] ? Object.keys(args[0]).length : 1;
  type Count = (args: unknown[], self: unknown) => void;
  const counted: [string, Count][] = [
    ["setAlarm", () => (counters.doSetAlarm += 1)],
    ["deleteAlarm", () => (counters.doDeleteAlarm += 1)],
    ["get", (args) => (counters.doKvReads += keys(args))],
    ["list", () => (counters.doKvReads += 1)],
    ["put", (args) => (counters.doKvWrites += keys(args))],
    ["delete", (args) => (counters.doKvWrites += keys(args))],
    [
      "deleteAll",
      (_args, self) => {
        counters.doDeleteAll += 1;
        counters.doDeleteAllRows += rowsHeld(self as Storage);
      },
    ],
  ];
  const patchCounted = (prototype: Target, list: [string, Count][]) => {
    for (const [name, count] of list) {
      patchPrototypeMethod(
        prototype,
        name,
        (original) =>
          function (this: unknown, ...args: unknown[]) {
            if (!suspended) count(args, this);
            return original.apply(this, args);
          },
      );
    }
  };
  patchCounted(storagePrototype, counted);
  // The synchronous key-value API of SQLite-backed objects (ctx.storage.kv): rows in a hidden
  // table, created with the object, so no CREATE TABLE of the object's own.
  if (storage.kv) {
    patchCounted(Object.getPrototypeOf(storage.kv) as Target, [
      ["get", () => (counters.doKvReads += 1)],
      ["list", () => (counters.doKvReads += 1)],
      ["put", () => (counters.doKvWrites += 1)],
      ["delete", () => (counters.doKvWrites += 1)],
    ]);
  }
}

const instrumentedObjects = new WeakSet<object>();

/** The object's own env (used e.g. by an alarm that deletes a D1 row) gets the counting bindings too. */
function instrumentObjectEnv(object: { env: object }): void {
  if (instrumentedObjects.has(object)) return;
  instrumentedObjects.add(object);
  try {
    object.env = instrumentEnv(object.env);
  } catch {
    // a read-only env: its D1/KV calls stay uncounted (none of edge-op's objects has one)
  }
}

/**
 * Wraps the prototype methods of every Durable Object class among `exports`. The first call
 * into any object patches storage, so only the constructor of the very first object goes
 * uncounted: the harness warms up before it resets the counters.
 */
export function instrumentDurableObjectClasses(exports: Record<string, unknown>): string[] {
  const classes: string[] = [];
  for (const [exportName, value] of Object.entries(exports)) {
    if (typeof value !== "function" || !(value.prototype instanceof DurableObject)) continue;
    classes.push(exportName);
    const prototype = value.prototype as unknown as Target;
    for (const name of Object.getOwnPropertyNames(prototype)) {
      if (name === "constructor") continue;
      const descriptor = Object.getOwnPropertyDescriptor(prototype, name);
      if (typeof descriptor?.value !== "function") continue;
      patchPrototypeMethod(
        prototype,
        name,
        (original) =>
          function (this: { ctx: { storage: Target }; env: object }, ...args: unknown[]) {
            patchStorage(this.ctx);
            instrumentObjectEnv(this);
            if (name !== "alarm") return original.apply(this, args);
            bump(counters.doAlarms, exportName);
            return timed(() => original.apply(this, args));
          },
      );
    }
  }
  return classes;
}
