/**
 * Figures a script writes into a hand-written document: the text between
 * `<!-- <name>:begin -->` and `<!-- <name>:end -->` is replaced, the rest of the file is kept.
 */
import { readFileSync, writeFileSync } from "node:fs";

export function replaceReportBlock(file: string, name: string, markdown: string): void {
  const text = readFileSync(file, "utf8");
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  const from = text.indexOf(begin);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`${file} has no ${begin} … ${end} block`);
  writeFileSync(file, `${text.slice(0, from + begin.length)}\n${markdown.trim()}\n${text.slice(to)}`);
}
