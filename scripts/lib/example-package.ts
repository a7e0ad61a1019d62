/**
 * Installs edge-op into an example as an integrator would get it: `npm pack` at the root (its
 * prepack runs the library build), then the tarball unpacked into
 * examples/<name>/node_modules/edge-op. The example therefore runs the built package through
 * its `exports`, never src/; its dependencies (hono, jose) resolve from the root node_modules,
 * one level up, as they would from an integrator's own.
 *
 * Unpacking by hand rather than `npm install <tarball>` keeps the step offline and leaves the
 * example without a second copy of hono (two copies would mean two `Hono` classes).
 * Packing takes a few seconds, so it is skipped when nothing the package is built from changed
 * since the last unpack (a hash of those files is kept beside the unpacked package).
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";

const root = resolve(import.meta.dirname, "../..");

/** Everything `npm pack` builds the package from. */
const PACKAGE_INPUTS = [
  "package.json",
  "tsconfig.json",
  "tsconfig.build.json",
  "scripts/build-package.ts",
  "src",
  "migrations",
];
const STAMP = ".edge-op-package-inputs";

function* filesUnder(path: string): Generator<string> {
  if (!existsSync(path)) return;
  if (!statSync(path).isDirectory()) {
    yield path;
    return;
  }
  for (const name of readdirSync(path).sort()) yield* filesUnder(join(path, name));
}

function inputsHash(): string {
  const hash = createHash("sha256");
  for (const input of PACKAGE_INPUTS) {
    for (const file of filesUnder(join(root, input))) {
      hash.update(relative(root, file)).update("\0").update(readFileSync(file)).update("\0");
    }
  }
  return hash.digest("hex");
}

/** Packs edge-op and unpacks it into `<exampleDir>/node_modules/edge-op`; returns that path. */
export function installPackedEdgeOp(exampleDir: string): string {
  const target = join(resolve(exampleDir), "node_modules", "edge-op");
  const hash = inputsHash();
  const stamp = join(target, STAMP);
  if (existsSync(stamp) && readFileSync(stamp, "utf8") === hash) return target;

  const destination = mkdtempSync(join(tmpdir(), "edge-op-pack-"));
  try {
    try {
      execFileSync("npm", ["pack", "--pack-destination", destination], { cwd: root, stdio: "pipe" });
    } catch (error) {
      const { stdout, stderr } = error as { stdout?: Buffer; stderr?: Buffer };
      throw new Error(`npm pack failed:\n${stdout?.toString() ?? ""}${stderr?.toString() ?? ""}`);
    }
    const tarball = readdirSync(destination).find((name) => name.endsWith(".tgz"));
    if (!tarball) throw new Error(`npm pack left no tarball in ${destination}`);
    rmSync(target, { recursive: true, force: true });
    mkdirSync(target, { recursive: true });
    // npm tarballs hold everything under package/.
    execFileSync("tar", ["-xzf", join(destination, tarball), "-C", target, "--strip-components=1"]);
    writeFileSync(stamp, hash);
    return target;
  } finally {
    rmSync(destination, { recursive: true, force: true });
  }
}

// `tsx scripts/lib/example-package.ts examples/bank-worker` (used before type-checking the example).
if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  for (const dir of process.argv.slice(2))
    console.log(`edge-op packed into ${relative(root, installPackedEdgeOp(dir))}`);
}
