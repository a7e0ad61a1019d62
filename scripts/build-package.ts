/**
 * Builds the library that `npm pack` ships (`npm run build`, also run by prepack): tsc compiles
 * src/index.ts and every module it reaches to dist/ (ES modules + .d.ts, JSX through hono/jsx),
 * then every relative import in dist/ gets its file extension.
 *
 * Why the second step: src/ imports its own modules without extensions ("./ciba/model"), which
 * bundlers resolve but ES modules do not. Wrangler's esbuild and Vite would resolve the bare
 * paths in a dependency too, but Node, Deno and a TypeScript consumer on
 * `moduleResolution: "node16"` would not; with explicit "./ciba/model.js" the package is plain
 * ESM for all of them, without bundling it (the consumer's bundler still tree-shakes per module).
 * A specifier that resolves to no file fails the build instead of shipping a broken import.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");
const dist = join(root, "dist");

/** A relative specifier in an import, export or import() of emitted JS or declarations. */
const RELATIVE_SPECIFIER = /((?:\bfrom|\bimport)\s*\(?\s*)(["'])(\.{1,2}\/[^"']*)\2/g;

function* emittedFiles(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* emittedFiles(path);
    else if (name.endsWith(".js") || name.endsWith(".d.ts")) yield path;
  }
}

/** "./ciba/model" → "./ciba/model.js", "./ui" → "./ui/index.js"; an unresolvable one throws. */
function withExtension(fromFile: string, specifier: string): string {
  const base = resolve(dirname(fromFile), specifier);
  if (/\.(m?js|json)$/.test(specifier) && existsSync(base)) return specifier;
  if (existsSync(`${base}.js`)) return `${specifier}.js`;
  if (existsSync(join(base, "index.js"))) return `${specifier.replace(/\/$/, "")}/index.js`;
  throw new Error(`${relative(root, fromFile)}: import "${specifier}" resolves to no file in dist/`);
}

function rewriteSpecifiers(fromFile: string, text: string): string {
  return text.replace(
    RELATIVE_SPECIFIER,
    (_all, lead: string, quote: string, specifier: string) =>
      `${lead}${quote}${withExtension(fromFile, specifier)}${quote}`,
  );
}

function build(): void {
  rmSync(dist, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
  execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], { stdio: "inherit", cwd: root });
  let files = 0;
  for (const file of emittedFiles(dist)) {
    const text = readFileSync(file, "utf8");
    const rewritten = rewriteSpecifiers(file, text);
    if (rewritten !== text) writeFileSync(file, rewritten);
    files++;
  }
  console.log(`dist/: ${files} files, relative imports given their extensions`);
}

build();
