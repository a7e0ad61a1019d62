/**
 * The commit a figure was taken at, for the reports the soak and the fuzz run write: the short
 * hash, and whether the working tree had changes (then the figure is of no commit exactly).
 */
import { spawnSync } from "node:child_process";
import { PROJECT_ROOT } from "./wrangler.ts";

export function checkoutRevision(): string {
  const git = (...args: string[]) =>
    spawnSync("git", args, { cwd: PROJECT_ROOT, encoding: "utf8" }).stdout?.trim() ?? "";
  const commit = git("rev-parse", "--short=7", "HEAD");
  if (!commit) return "an unknown revision (not a git checkout)";
  return git("status", "--porcelain", "--untracked-files=no") ? `${commit} with uncommitted changes` : commit;
}
