/**
 * Bundles, with the project's wrangler: `wrangler deploy --dry-run --outdir` builds exactly what
 * `wrangler deploy` would upload and prints its size ("Total Upload: … KiB / gzip: … KiB").
 *
 *   product   wrangler.toml as it is (src/worker.ts): the deployable, whose size is reported
 *   timed     bench/worker/entry.ts: the product plus the bench completion route (timed runs)
 *   counting  bench/worker/counting-entry.ts: the same with operation counters (counting pass)
 *   floor     bench/floor/worker.ts (+ its counting twin)
 *
 * and, for `--baseline <rev>`, the timed and counting builds of another revision (buildBaseline):
 * its files exported with `git archive` into a temporary directory, bundled there with its own
 * wrangler.toml and its own bench/worker entries (so its bench route matches its src/), against
 * this checkout's node_modules.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  PROJECT_ROOT,
  spawnWrangler,
  WranglerError,
  type WranglerResult,
  wranglerEnv,
} from "../../scripts/lib/wrangler.ts";

export const OUT_DIR = join(PROJECT_ROOT, "bench", ".out");

export interface Bundle {
  name: string;
  scriptPath: string;
  uploadKiB: number;
  gzipKiB: number;
}

interface BuildSpec {
  name: string;
  config: string;
  entry?: string;
}

export const BUILDS = {
  product: { name: "product", config: "wrangler.toml" },
  timed: { name: "timed", config: "wrangler.toml", entry: "bench/worker/entry.ts" },
  counting: { name: "counting", config: "wrangler.toml", entry: "bench/worker/counting-entry.ts" },
  floor: { name: "floor", config: "bench/floor/wrangler.toml" },
  floorCounting: {
    name: "floor-counting",
    config: "bench/floor/wrangler.toml",
    entry: "bench/floor/counting-entry.ts",
  },
} as const satisfies Record<string, BuildSpec>;

export type BuildName = keyof typeof BUILDS;

const SIZE = /Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/;

/** wrangler in `cwd` (the project, or a baseline's exported tree), to completion. */
function wranglerIn(cwd: string, args: readonly string[]): Promise<WranglerResult> {
  return new Promise((resolve, reject) => {
    const child = spawnWrangler(args, { cwd, stdio: ["ignore", "pipe", "pipe"], env: wranglerEnv({ CI: "true" }) });
    let stdout = "";
    let stderr = "";
    child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code: code ?? (signal ? 1 : 0), stdout, stderr }));
  });
}

async function build(spec: BuildSpec, root = PROJECT_ROOT, outName = spec.name): Promise<Bundle> {
  const outdir = join(OUT_DIR, outName);
  rmSync(outdir, { recursive: true, force: true });
  const args = [
    "deploy",
    ...(spec.entry ? [spec.entry] : []),
    "--dry-run",
    "--outdir",
    outdir,
    "--config",
    spec.config,
  ];
  const result = await wranglerIn(root, args);
  const size = SIZE.exec(result.stdout);
  if (result.code !== 0 || !size) throw new WranglerError(`deploy --dry-run (${outName})`, result);
  const script = readdirSync(outdir).find((file) => file.endsWith(".js"));
  if (!script) throw new Error(`wrangler wrote no .js bundle to ${outdir}`);
  return {
    name: outName,
    scriptPath: join(outdir, script),
    uploadKiB: Number(size[1]),
    gzipKiB: Number(size[2]),
  };
}

/** Builds every bundle (in parallel); returns them by name. */
export async function buildAll(): Promise<Record<BuildName, Bundle>> {
  const names = Object.keys(BUILDS) as BuildName[];
  const bundles = await Promise.all(names.map((name) => build(BUILDS[name])));
  return Object.fromEntries(names.map((name, i) => [name, bundles[i]])) as Record<BuildName, Bundle>;
}

export interface BaselineBuild {
  revision: string;
  /** The full commit id and its subject line. */
  commit: string;
  subject: string;
  /** The exported tree (its wrangler.toml, migrations and bench/lib are used to run it). */
  root: string;
  timed: Bundle;
  counting?: Bundle;
  remove(): void;
}

function git(args: string[]): string {
  const result = spawnSync("git", args, { cwd: PROJECT_ROOT, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`git ${args.join(" ")}: ${result.stderr.trim()}`);
  return result.stdout;
}

/**
 * Another revision's Worker, bundled the way buildAll bundles this one: `git archive` of the
 * revision into a temporary directory (the checkout and its index are not touched), this
 * checkout's node_modules linked in, then `wrangler deploy --dry-run` of its own
 * bench/worker/entry.ts (and counting-entry.ts when it has one).
 */
export async function buildBaseline(revision: string): Promise<BaselineBuild> {
  const commit = git(["rev-parse", "--verify", `${revision}^{commit}`]).trim();
  const subject = git(["log", "-1", "--format=%s", commit]).trim();
  const root = mkdtempSync(join(tmpdir(), "edge-op-bench-baseline-"));
  const remove = () => rmSync(root, { recursive: true, force: true });
  process.once("exit", remove);
  try {
    const archive = spawnSync("git", ["archive", "--format=tar", commit], {
      cwd: PROJECT_ROOT,
      maxBuffer: 512 * 1024 * 1024,
    });
    if (archive.status !== 0) throw new Error(`git archive ${commit}: ${archive.stderr.toString()}`);
    const untar = spawnSync("tar", ["-x", "-C", root], { input: archive.stdout });
    if (untar.status !== 0) throw new Error(`tar: ${untar.stderr.toString()}`);
    if (!existsSync(join(root, "bench", "worker", "entry.ts"))) {
      throw new Error(`${revision} has no bench/worker/entry.ts: the baseline must be a revision with the benchmark`);
    }
    symlinkSync(join(PROJECT_ROOT, "node_modules"), join(root, "node_modules"), "dir");
    const hasCounting = existsSync(join(root, "bench", "worker", "counting-entry.ts"));
    const [timed, counting] = await Promise.all([
      build(BUILDS.timed, root, "baseline-timed"),
      hasCounting ? build(BUILDS.counting, root, "baseline-counting") : Promise.resolve(undefined),
    ]);
    return { revision, commit, subject, root, timed, counting, remove };
  } catch (error) {
    remove();
    throw error;
  }
}
