/**
 * Figures a script writes into Markdown files: a whole report, or the text between
 * `<!-- <name>:begin -->` and `<!-- <name>:end -->` in a hand-written document (the rest is kept).
 * The project formats Markdown with Biome (`npm run lint` checks it), so what is written is then
 * formatted the same way.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_ROOT } from "./wrangler.ts";

export function replaceReportBlock(file: string, name: string, markdown: string): void {
  const text = readFileSync(file, "utf8");
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${file} has no ${begin} … ${end} block`);
  writeFileSync(file, `${text.slice(0, from + begin.length)}\n${markdown.trim()}\n${text.slice(to)}`);
  formatMarkdown(file);
}

export function writeReport(file: string, markdown: string): void {
  writeFileSync(file, markdown);
  formatMarkdown(file);
}

/** `biome format --write`; a failure is reported, not thrown: the figures are written either way. */
export function formatMarkdown(file: string): void {
  const biome = join(PROJECT_ROOT, "node_modules", "@biomejs", "biome", "bin", "biome");
  const result = spawnSync(process.execPath, [biome, "format", "--write", file], {
    cwd: PROJECT_ROOT,
    encoding: "utf8",
  });
  if (result.status !== 0) console.warn(`could not format ${file} with Biome: ${result.stderr || result.stdout}`);
}
