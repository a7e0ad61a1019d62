/**
 * The examples use edge-op only as a package ("edge-op", resolved to the tarball `npm pack`
 * builds), never by reaching into this repository's src/: what they prove is what an integrator
 * gets.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { expect, it } from "vitest";

const ROOT = join(import.meta.dirname, "..", "..");
const EXAMPLES = join(ROOT, "examples");

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === "node_modules") return [];
    const path = join(dir, entry.name);
    return entry.isDirectory() ? sources(path) : /\.tsx?$/.test(entry.name) ? [path] : [];
  });
}

it("no example imports a module outside its own folder, except its vitest config's build helpers", () => {
  const escapes: string[] = [];
  for (const example of readdirSync(EXAMPLES)) {
    const folder = join(EXAMPLES, example);
    for (const file of sources(folder)) {
      if (file === join(folder, "vitest.config.ts")) continue; // node side: packs edge-op, makes keys
      for (const [, specifier] of readFileSync(file, "utf8").matchAll(/(?:from|import)\s*\(?\s*"(\.[^"]+)"/g)) {
        const target = resolve(dirname(file), specifier as string);
        if (relative(folder, target).startsWith("..")) escapes.push(`${relative(ROOT, file)} imports ${specifier}`);
      }
    }
  }
  expect(readdirSync(EXAMPLES).length).toBeGreaterThan(0);
  expect(escapes).toEqual([]);
});

it("every example's Worker imports edge-op by its package name", () => {
  for (const example of readdirSync(EXAMPLES)) {
    expect(readFileSync(join(EXAMPLES, example, "src", "index.ts"), "utf8")).toMatch(/from "edge-op"/);
  }
});
