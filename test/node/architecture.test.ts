/**
 * The architecture rules of .dependency-cruiser.cjs (`npm run lint:deps`, run by `npm run lint`
 * in CI): no import cycles between the files of src/, type-only imports included, and a
 * protocol core that imports no HTTP or UI code (neither the edge layer nor Hono). And biome's
 * rule that src/ logs only through the typed logger (src/log.ts), never console.* directly; and
 * storage reads parsed, not cast. src/ keeps them, and each rule is shown to fail on a small
 * input of its own that breaks it: a rule that cannot fail checks nothing.
 */
import { execFileSync } from "node:child_process";
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const DEPCRUISE = join(ROOT, "node_modules", ".bin", "depcruise");
const BIOME = join(ROOT, "node_modules", ".bin", "biome");

/** The files of `paths` under `dir` where biome.json's noConsole rule reports console.* use. */
function consoleUse(dir: string, paths: string[]): string[] {
  let output: string;
  try {
    output = execFileSync(BIOME, ["lint", "--vcs-enabled=false", "--reporter=json", ...paths], {
      cwd: dir,
      stdio: "pipe",
    }).toString();
  } catch (error) {
    output = (error as { stdout?: Buffer }).stdout?.toString() ?? "";
  }
  const { diagnostics } = JSON.parse(output) as {
    diagnostics: { category?: string; location?: { path?: string | { file?: string } } }[];
  };
  return diagnostics
    .filter((d) => d.category === "lint/suspicious/noConsole")
    .map((d) => (typeof d.location?.path === "string" ? d.location.path : (d.location?.path?.file ?? "?")));
}

/** Runs the project's rules on `dir`'s src/: the violations' lines, empty when it keeps them. */
function violations(dir: string): string[] {
  try {
    execFileSync(DEPCRUISE, ["src", "--config", ".dependency-cruiser.cjs", "--output-type", "err"], {
      cwd: dir,
      stdio: "pipe",
    });
    return [];
  } catch (error) {
    const { stdout } = error as { stdout?: Buffer };
    const lines = (stdout?.toString() ?? "").split("\n").filter((line) => /^\s*error /.test(line));
    // A failure that is not a rule broken (a crashed run) must not pass for one.
    expect(lines.length, stdout?.toString()).toBeGreaterThan(0);
    return lines.map((line) => line.trim());
  }
}

// Each run of dependency-cruiser takes a few seconds, more beside the workerd projects.
describe("src/", { timeout: 60_000 }, () => {
  it("has no import cycle and a protocol core that imports no HTTP or UI code", () => {
    expect(violations(ROOT)).toEqual([]);
  });
});

describe("the rules fail", { timeout: 60_000 }, () => {
  const root = mkdtempSync(join(tmpdir(), "architecture-"));
  copyFileSync(join(ROOT, ".dependency-cruiser.cjs"), join(root, ".dependency-cruiser.cjs"));
  copyFileSync(join(ROOT, "tsconfig.json"), join(root, "tsconfig.json"));
  // Hono resolves as it does in the repository.
  symlinkSync(join(ROOT, "node_modules"), join(root, "node_modules"), "dir");
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** A tree with only `files` in it (path under src/ → source). */
  function tree(name: string, files: Record<string, string>): string {
    const dir = join(root, name);
    mkdirSync(dir);
    for (const link of [".dependency-cruiser.cjs", "tsconfig.json", "node_modules"]) {
      symlinkSync(join(root, link), join(dir, link));
    }
    for (const [path, source] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, "src", path)), { recursive: true });
      writeFileSync(join(dir, "src", path), source);
    }
    return dir;
  }

  // The edge layer may use Hono and the core; the core uses only itself.
  const layered = {
    "http/boundary.ts":
      'import { Hono } from "hono";\nimport { rule } from "../ciba/rule";\nexport const app = [Hono, rule];\n',
    "ui/page.ts": 'import { getCookie } from "hono/cookie";\nexport const page = getCookie;\n',
    "ciba/rule.ts": 'import { hash } from "../crypto/hash";\nexport const rule = hash;\n',
    "crypto/hash.ts": "export const hash = 1;\n",
  };

  it("not on a core that imports only the core, and an edge layer that imports Hono and the core", () => {
    expect(violations(tree("layered", layered))).toEqual([]);
  });

  it("when a core module imports Hono, by its main entry or a subpath", () => {
    const dir = tree("core-hono", {
      ...layered,
      "ciba/rule.ts": 'import { Hono } from "hono";\nexport const rule = Hono;\n',
      "crypto/hash.ts": 'import { getCookie } from "hono/cookie";\nexport const hash = getCookie;\n',
    });
    const found = violations(dir).sort();
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/^error core-imports-no-http: src\/ciba\/rule\.ts → .*hono/);
    expect(found[1]).toMatch(/^error core-imports-no-http: src\/crypto\/hash\.ts → .*hono\/cookie/);
  });

  it("when a core module imports the edge layer (src/http/, src/ui/)", () => {
    const dir = tree("core-edge", {
      ...layered,
      "crypto/hash.ts": 'import type { page } from "../ui/page";\nexport const hash: typeof page | 1 = 1;\n',
    });
    expect(violations(dir)).toEqual(["error core-imports-no-http: src/crypto/hash.ts → src/ui/page.ts"]);
  });

  it("when two files import each other, even through types only", () => {
    const dir = tree("cycle", {
      "ciba/a.ts": 'import type { B } from "./b";\nexport interface A { b?: B }\n',
      "ciba/b.ts": 'import type { A } from "./a";\nexport interface B { a?: A }\n',
    });
    const found = violations(dir);
    expect(found.length).toBeGreaterThan(0);
    expect(found.every((line) => line.startsWith("error no-circular: src/ciba/"))).toBe(true);
  });
});

describe("the typed logger (src/log.ts) is the only way src/ writes to the log", { timeout: 60_000 }, () => {
  it("src/ calls no console.* outside src/log.ts", () => {
    expect(consoleUse(ROOT, ["src"])).toEqual([]);
  });

  it("biome refuses console.log(JSON.stringify(...)) anywhere else in src/, and allows it in tests", () => {
    const dir = mkdtempSync(join(tmpdir(), "logger-"));
    try {
      copyFileSync(join(ROOT, "biome.json"), join(dir, "biome.json"));
      symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
      const line = 'export const notify = () => console.log(JSON.stringify({ event: "x" }));\n';
      for (const path of ["src/ciba/notify.ts", "src/log.ts", "test/notify.test.ts"]) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), line);
      }
      expect(consoleUse(dir, ["src", "test"])).toEqual(["src/ciba/notify.ts"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** D1 (`first`, `all`, `raw`), Durable Object SQL (`exec`, `one`, `toArray`) and KV reads. */
const READS = new Set(["first", "all", "raw", "exec", "one", "toArray", "getWithMetadata"]);
/** `get` and `list` read storage only on a storage receiver (not URLSearchParams, Map, …). */
const STORAGE_RECEIVER = /storage|\bkv\b|KV|_REQUESTS|NOTIFICATIONS/;

function isStorageRead(node: ts.Node, source: ts.SourceFile): node is ts.CallExpression {
  if (!ts.isCallExpression(node) || !ts.isPropertyAccessExpression(node.expression)) return false;
  const name = node.expression.name.text;
  if (READS.has(name)) return true;
  return (name === "get" || name === "list") && STORAGE_RECEIVER.test(node.expression.expression.getText(source));
}

/** `T` is `unknown`, or an object type all of whose members are `unknown`: nothing is claimed. */
function claimsNothing(type: ts.TypeNode): boolean {
  if (type.kind === ts.SyntaxKind.UnknownKeyword) return true;
  return (
    ts.isTypeLiteralNode(type) &&
    type.members.every((m) => ts.isPropertySignature(m) && m.type?.kind === ts.SyntaxKind.UnknownKeyword)
  );
}

/**
 * Where `text` casts a storage read to a type instead of parsing it: `(await stmt.first()) as T`,
 * `stmt.first<T>()`, `storage.get(key) as T`, `(await kv.get(key, "json")) as T`.
 */
function storageCasts(text: string, file: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TSX);
  const found: string[] = [];
  const at = (node: ts.Node) => `${file}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}`;
  const strip = (node: ts.Expression): ts.Expression =>
    ts.isParenthesizedExpression(node) || ts.isAwaitExpression(node) || ts.isNonNullExpression(node)
      ? strip(node.expression)
      : node;
  const visit = (node: ts.Node): void => {
    if ((ts.isAsExpression(node) || ts.isTypeAssertionExpression(node)) && !claimsNothing(node.type)) {
      const cast = node.type.getText(source);
      if (cast !== "const" && isStorageRead(strip(node.expression), source)) found.push(`${at(node)} as ${cast}`);
    }
    if (isStorageRead(node, source) && node.typeArguments?.some((t) => !claimsNothing(t))) {
      found.push(`${at(node)} <${node.typeArguments.map((t) => t.getText(source)).join(", ")}>`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sourcesUnder(path) : /\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

describe("storage reads are parsed, not cast (as T)", { timeout: 60_000 }, () => {
  it("no D1, Durable Object or KV read in src/ is cast to a type", () => {
    const files = sourcesUnder(join(ROOT, "src"));
    expect(files.length).toBeGreaterThan(100);
    const casts = files.flatMap((file) => storageCasts(readFileSync(file, "utf8"), relative(ROOT, file)));
    expect(casts).toEqual([]);
  });

  it("the check finds each way of casting a read, and not a parsed one or another kind of get", () => {
    const text = [
      "const a = (await db.prepare(q).bind(id).first()) as ClientRow;",
      "const b = await db.prepare(q).first<ClientRow>();",
      "const { results } = await db.prepare(q).all<{ id: string; n: number }>();",
      "const c = (await this.ctx.storage.get(KEY)) as Stored;",
      "const d = (await env.PAR_REQUESTS.get(key, 'json')) as Pushed;",
      "const e = this.sql.exec('SELECT record FROM r').one() as Row;",
      // Not casts of what storage holds:
      "const f = readStored('clients', clientRecord, await db.prepare(q).first());",
      "const g = await db.prepare(q).first<{ record: unknown }>();",
      "const h = params.get(name) as string;",
      "const i = (await db.prepare(q).first()) as unknown;",
    ].join("\n");
    expect(storageCasts(text, "x.ts")).toEqual([
      "x.ts:1 as ClientRow",
      "x.ts:2 <ClientRow>",
      "x.ts:3 <{ id: string; n: number }>",
      "x.ts:4 as Stored",
      "x.ts:5 as Pushed",
      "x.ts:6 as Row",
    ]);
  });
});
