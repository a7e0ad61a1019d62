/**
 * Reads docs/conformance.md and the code, and says where they disagree (used by
 * conformance-doc.test.ts, which runs in Node because workerd cannot read files):
 *  - a checklist ID cited in src/, test/ or examples/ that has no row in the document;
 *  - a row without a link to its spec section (openid.net or rfc-editor.org, with an anchor);
 *  - a row naming a function that its file does not define, or a test that its file does not
 *    hold (so a rename or a move that forgets the document fails too).
 *
 * IDs are the checklist's: C (CIBA), P (PAR), A (authorization code), F (FAPI), S (security),
 * a number from 1 to 99. A range such as "C18–C24" cites every ID in it.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

export const ROOT = join(import.meta.dirname, "..", "..");

/** C16, P8, A1…; not "%C3" (percent-encoding) nor part of a longer word ("EC2", "A1B2"). */
const CITATION = /(?<![%\w])([CPAFS])([1-9]\d?)(?:\s*[–-]\s*\1?([1-9]\d?))?(?!\w)/g;

export interface Citation {
  id: string;
  /** file:line, for the failure message. */
  where: string;
}

/** Every checklist ID a text cites, with the line it is on. */
export function citationsIn(text: string, file: string): Citation[] {
  const found: Citation[] = [];
  text.split("\n").forEach((line, index) => {
    for (const match of line.matchAll(CITATION)) {
      const [, letter, first, last] = match as unknown as [string, string, string, string | undefined];
      const from = Number(first);
      const to = last === undefined ? from : Number(last);
      for (let n = from; n <= Math.max(from, to); n++)
        found.push({ id: `${letter}${n}`, where: `${file}:${index + 1}` });
    }
  });
  return found;
}

function* sourceFiles(dir: string): Generator<string> {
  if (!existsSync(dir)) return;
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name === "dist" || name.startsWith(".")) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (/\.(ts|tsx)$/.test(name)) yield path;
  }
}

/** IDs cited in src/, test/ and examples/ (this checker and its test excluded: they cite none). */
export function citationsInRepository(root = ROOT): Citation[] {
  const own = new Set([
    join(import.meta.dirname, "conformance-doc.ts"),
    join(import.meta.dirname, "conformance-doc.test.ts"),
  ]);
  const citations: Citation[] = [];
  for (const dir of ["src", "test", "examples"]) {
    for (const file of sourceFiles(join(root, dir))) {
      if (own.has(file)) continue;
      citations.push(...citationsIn(readFileSync(file, "utf8"), relative(root, file)));
    }
  }
  return citations;
}

export interface Row {
  id: string;
  line: number;
  cells: string[];
}

/** The rows of the document's tables whose first cell is a checklist ID (bold or not). */
export function rowsOf(markdown: string): Row[] {
  const rows: Row[] = [];
  markdown.split("\n").forEach((line, index) => {
    const match = /^\|\s*\**([CPAFS][1-9]\d?)\**\s*\|/.exec(line);
    if (!match) return;
    const cells = line
      .replace(/^\||\|\s*$/g, "")
      .split(/(?<!\\)\|/)
      .map((cell) => cell.trim());
    rows.push({ id: match[1] as string, line: index + 1, cells });
  });
  return rows;
}

/** `src/ciba/backchannel-endpoint.ts:checkScope` or `src/x.ts:SomeClass.method`. */
const FUNCTION_REF = /`((?:src|examples)\/[^`:]+\.tsx?):([\w$]+)(?:\.([\w$]+))?`/g;
/**
 * `test/ciba-token.test.ts` "C22 one-time use" — a describe or it title in that file (or, for a
 * suite such as test/conformance/*.ts, the title of one of its checks).
 */
const TEST_REF = /`((?:test|examples)\/[^`]+\.tsx?)`\s*"([^"]+)"/g;
const SPEC_LINK = /\]\((https:\/\/(?:openid\.net\/specs|www\.rfc-editor\.org\/rfc)\/[^)\s#]+#[^)\s]+)\)/;

function defines(text: string, name: string): boolean {
  const escaped = name.replace(/\$/g, "\\$");
  return new RegExp(
    `(?:function\\*?|class|const|let|interface|type|enum)\\s+${escaped}\\b|^\\s*(?:(?:private|public|protected|static|async|override|readonly)\\s+)*${escaped}\\s*[(<=:]`,
    "m",
  ).test(text);
}

/** What is wrong with one row: no spec link, no enforcing function, a reference that is stale. */
export function rowProblems(row: Row, root = ROOT): string[] {
  const problems: string[] = [];
  const at = `docs/conformance.md:${row.line} (${row.id})`;
  const text = row.cells.join(" | ");
  if (!SPEC_LINK.test(text))
    problems.push(`${at}: no link to a spec section (openid.net/specs or rfc-editor.org, with #anchor)`);
  const functions = [...text.matchAll(FUNCTION_REF)];
  // A rule edge-op does not (yet) keep says so in words instead of pointing at code.
  if (functions.length === 0 && !/\*\*not enforced\*\*/i.test(text)) {
    problems.push(
      `${at}: names no function that enforces it (\`src/file.ts:function\`) and does not say **not enforced**`,
    );
  }
  const tests = [...text.matchAll(TEST_REF)];
  if (tests.length === 0 && !/\*\*not tested\*\*/i.test(text)) {
    problems.push(
      `${at}: names no test that checks it (\`test/file.test.ts\` "title") and does not say **not tested**`,
    );
  }
  for (const [, file, name, method] of functions as unknown as [string, string, string, string | undefined][]) {
    const path = join(root, file);
    if (!existsSync(path)) {
      problems.push(`${at}: ${file} does not exist`);
      continue;
    }
    const source = readFileSync(path, "utf8");
    if (!defines(source, name)) problems.push(`${at}: ${file} defines no ${name}`);
    else if (method && !defines(source, method)) problems.push(`${at}: ${file} defines no ${name}.${method}`);
  }
  for (const [, file, title] of tests as unknown as [string, string, string][]) {
    const path = join(root, file);
    if (!existsSync(path)) problems.push(`${at}: ${file} does not exist`);
    else if (!readFileSync(path, "utf8").includes(title)) problems.push(`${at}: ${file} has no test "${title}"`);
  }
  return problems;
}

/** Every disagreement between the code's citations and the document. */
export function conformanceProblems(markdown: string, citations: Citation[], root = ROOT): string[] {
  const rows = rowsOf(markdown);
  const documented = new Set(rows.map((row) => row.id));
  const problems: string[] = [];
  const missing = new Map<string, string[]>();
  for (const { id, where } of citations) {
    if (!documented.has(id)) missing.set(id, [...(missing.get(id) ?? []), where]);
  }
  for (const [id, places] of missing) {
    problems.push(`${id} is cited (${places.slice(0, 3).join(", ")}) but has no row in docs/conformance.md`);
  }
  const seen = new Set<string>();
  for (const row of rows) {
    if (seen.has(row.id)) problems.push(`docs/conformance.md:${row.line}: ${row.id} has a second row`);
    seen.add(row.id);
    problems.push(...rowProblems(row, root));
  }
  return problems;
}
