/**
 * Bundles, with the project's wrangler: `wrangler deploy --dry-run --outdir` builds exactly what
 * `wrangler deploy` would upload and prints its size ("Total Upload: … KiB / gzip: … KiB").
 *
 *   product   wrangler.toml as it is (src/index.ts): the deployable, whose size is reported
 *   timed     bench/worker/entry.ts: the product plus the bench completion route (timed runs)
 *   counting  bench/worker/counting-entry.ts: the same with operation counters (counting pass)
 *   whatif    bench/worker/whatif-entry.ts: timed + a hot-path change, measured side by side
 *   floor     bench/floor/worker.ts (+ its counting twin)
 */
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT, runWrangler, WranglerError } from "../../scripts/lib/wrangler.ts";

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
  whatif: { name: "whatif", config: "wrangler.toml", entry: "bench/worker/whatif-entry.ts" },
  floor: { name: "floor", config: "bench/floor/wrangler.toml" },
  floorCounting: {
    name: "floor-counting",
    config: "bench/floor/wrangler.toml",
    entry: "bench/floor/counting-entry.ts",
  },
} as const satisfies Record<string, BuildSpec>;

export type BuildName = keyof typeof BUILDS;

const SIZE = /Total Upload:\s*([\d.]+)\s*KiB\s*\/\s*gzip:\s*([\d.]+)\s*KiB/;

async function build(spec: BuildSpec): Promise<Bundle> {
  const outdir = join(OUT_DIR, spec.name);
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
  const result = await runWrangler(args);
  const size = SIZE.exec(result.stdout);
  if (result.code !== 0 || !size) throw new WranglerError(`deploy --dry-run (${spec.name})`, result);
  const script = readdirSync(outdir).find((file) => file.endsWith(".js"));
  if (!script) throw new Error(`wrangler wrote no .js bundle to ${outdir}`);
  return {
    name: spec.name,
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
