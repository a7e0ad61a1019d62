/** What the bank installed: edge-op as `npm pack` ships it, built, with its migrations, and without its sources. */
import { env } from "cloudflare:workers";
import { createProvider } from "edge-op";
import { describe, expect, it } from "vitest";

const files: string[] = JSON.parse(env.TEST_PACKAGE_FILES);
const bundle: { sources?: string[]; error?: string } = JSON.parse(env.TEST_WRANGLER_BUNDLE);

describe("the installed edge-op package", () => {
  it("holds the built library with its declarations, and the D1 migrations", () => {
    expect(files).toContain("package.json");
    expect(files).toContain("dist/index.js");
    expect(files).toContain("dist/index.d.ts");
    expect(files.some((f) => /^migrations\/0001_.*\.sql$/.test(f))).toBe(true);
  });

  it("holds no sources, tests or the repository's own Worker", () => {
    expect(
      files.filter((f) => /^(src|test|examples|scripts|bench)\//.test(f) || /\.tsx?$/.test(f.replace(/\.d\.ts$/, ""))),
    ).toEqual([]);
    expect(files).not.toContain("dist/worker.js");
  });

  it("is what the example runs: createProvider comes from it", () => {
    expect(typeof createProvider).toBe("function");
    expect(createProvider({ basePath: "/master" }).routes.path("token")).toBe("/master/token");
  });

  it("bundles with wrangler (deploy --dry-run): edge-op from the installed package's dist/, nothing from its src/", () => {
    expect(bundle.error).toBeUndefined();
    const sources = bundle.sources ?? [];
    const fromPackage = sources.filter((s) => s.startsWith("examples/bank-worker/node_modules/edge-op/dist/"));
    expect(fromPackage).toContain("examples/bank-worker/node_modules/edge-op/dist/provider/create-provider.js");
    expect(sources).toContain("examples/bank-worker/src/index.ts");
    expect(sources.filter((s) => s.startsWith("src/") || s.includes("node_modules/edge-op/src/"))).toEqual([]);
  });
});
