/**
 * docs/conformance.md is the checklist the code's comments and test names point to: every ID
 * they cite has a row there, with its spec section, the function that enforces it and the test
 * that checks it, and those still exist. Runs in Node (the "node" project of vitest.config.ts).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { citationsIn, citationsInRepository, conformanceProblems, ROOT, rowsOf } from "./conformance-doc";

const doc = readFileSync(join(ROOT, "docs/conformance.md"), "utf8");

describe("docs/conformance.md", () => {
  it("has a row for every checklist ID cited in src/, test/ and examples/, and every row's references hold", () => {
    const citations = citationsInRepository();
    expect(citations.length).toBeGreaterThan(50);
    expect(conformanceProblems(doc, citations)).toEqual([]);
  });

  it("brings in every row of the checklist (C1–C26, P1–P11, A1–A4, F1–F3, S1–S3)", () => {
    const expected = [
      ...Array.from({ length: 26 }, (_, i) => `C${i + 1}`),
      ...Array.from({ length: 11 }, (_, i) => `P${i + 1}`),
      ...Array.from({ length: 4 }, (_, i) => `A${i + 1}`),
      ...["F1", "F2", "F3", "S1", "S2", "S3"],
    ];
    expect(rowsOf(doc).map((row) => row.id)).toEqual(expected);
  });
});

// The check above would pass on an empty repository; these show it fails when it should, on a
// small repository of their own (so that they do not depend on where edge-op's code lives).
describe("the check fails", () => {
  const root = mkdtempSync(join(tmpdir(), "conformance-doc-"));
  mkdirSync(join(root, "src"));
  mkdirSync(join(root, "test"));
  writeFileSync(join(root, "src/scope.ts"), "export function checkScope() {}\nclass Poller {\n  poll() {}\n}\n");
  writeFileSync(join(root, "test/scope.test.ts"), 'describe("scope is required", () => {});\n');
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const row = (id: string, rest: string) => `| ${id} | rule | ${rest} |`;
  const link =
    "[CIBA §7.1](https://openid.net/specs/openid-client-initiated-backchannel-authentication-core-1_0.html#rfc.section.7.1)";
  const good = row(
    "C6",
    `${link} | \`src/scope.ts:checkScope\`<br>\`src/scope.ts:Poller.poll\` | \`test/scope.test.ts\` "scope is required"`,
  );

  it("not on a row whose references hold", () => {
    expect(conformanceProblems(good, citationsIn("// checklist C6\n", "src/x.ts"), root)).toEqual([]);
  });

  it("when a cited ID has no row", () => {
    const cited = citationsIn("// checklist C6, C7 and C18–C20\n", "src/x.ts");
    expect(cited.map((c) => c.id)).toEqual(["C6", "C7", "C18", "C19", "C20"]);
    expect(conformanceProblems(good, cited, root)).toEqual([
      "C7 is cited (src/x.ts:1) but has no row in docs/conformance.md",
      "C18 is cited (src/x.ts:1) but has no row in docs/conformance.md",
      "C19 is cited (src/x.ts:1) but has no row in docs/conformance.md",
      "C20 is cited (src/x.ts:1) but has no row in docs/conformance.md",
    ]);
  });

  it("not on what only looks like an ID", () => {
    expect(citationsIn('expect(url).toBe("/ciba/%C3%BC"); const EC2 = 1; // A1B2', "test/x.test.ts")).toEqual([]);
  });

  it("when a row has no spec link, names a function its file lacks, a moved file, or a test its file lacks", () => {
    const stale = row(
      "C6",
      '§7.1 | `src/scope.ts:noSuchCheck`<br>`src/scope.ts:Poller.consume`<br>`src/moved.ts:checkScope` | `test/scope.test.ts` "no such test"',
    );
    expect(conformanceProblems(stale, [], root)).toEqual([
      "docs/conformance.md:1 (C6): no link to a spec section (openid.net/specs or rfc-editor.org, with #anchor)",
      "docs/conformance.md:1 (C6): src/scope.ts defines no noSuchCheck",
      "docs/conformance.md:1 (C6): src/scope.ts defines no Poller.consume",
      "docs/conformance.md:1 (C6): src/moved.ts does not exist",
      'docs/conformance.md:1 (C6): test/scope.test.ts has no test "no such test"',
    ]);
  });

  it("when a row names neither code nor test and does not say so", () => {
    expect(conformanceProblems(row("C6", `${link} | | `), [], root)).toEqual([
      "docs/conformance.md:1 (C6): names no function that enforces it (`src/file.ts:function`) and does not say **not enforced**",
      'docs/conformance.md:1 (C6): names no test that checks it (`test/file.test.ts` "title") and does not say **not tested**',
    ]);
  });
});
