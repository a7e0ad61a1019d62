/**
 * The commit a figure was taken at, for the reports the soak, the fuzz run and the benchmark write: the short
 * hash, and whether the working tree had changes (then the figure is of no commit exactly).
 */
import { spawnSync } from "node:child_process";
import { PROJECT_ROOT } from "./wrangler.ts";

export function checkoutRevision(): string {
  const git = (...args: string[]) =>
    spawnSync("git", args, { cwd: PROJECT_ROOT, encoding: "utf8" }).stdout?.trim() ?? "";
  const commit = git("rev-parse", "--short=7", "HEAD");
  if (!commit) return "an unknown revision (not a git checkout)";
  // The reports these tools write themselves do not count as changes (the benchmark writes its
  // JSON before its Markdown).
  const outputs = [":!bench/results", ":!bench/RESULTS.md", ":!bench/SOAK.md", ":!docs/reliability.md"];
  const changed = git("status", "--porcelain", "--untracked-files=no", "--", ".", ...outputs);
  return changed ? `${commit} with uncommitted changes` : commit;
}
