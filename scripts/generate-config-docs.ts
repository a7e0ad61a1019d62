/**
 * `npm run docs:config`: writes docs/configuration.md from src/config.ts (see
 * scripts/lib/config-doc.ts). `npm run docs:config -- --check` only compares, and exits 1 when
 * the file is out of date (for CI).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { renderConfigurationDoc } from "./lib/config-doc.ts";
import { PROJECT_ROOT } from "./lib/wrangler.ts";

const target = join(PROJECT_ROOT, "docs", "configuration.md");
const name = relative(process.cwd(), target);
const rendered = renderConfigurationDoc();
const current = existsSync(target) ? readFileSync(target, "utf8") : undefined;

if (process.argv.includes("--check")) {
  if (current !== rendered) {
    console.error(`${name} is out of date: run \`npm run docs:config\``);
    process.exitCode = 1;
  } else {
    console.log(`${name} is up to date`);
  }
} else if (current === rendered) {
  console.log(`${name} is up to date`);
} else {
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, rendered);
  console.log(`wrote ${name}`);
}
