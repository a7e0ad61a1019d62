/**
 * The fault tests' Worker: bundled once per run, exactly as `wrangler deploy` would upload it
 * (scripts/lib/local-edge.ts buildWorker), into test-results/faults/worker. FAULTS_WORKER_SCRIPT
 * names an already built bundle instead (e.g. another revision's, built with
 * `wrangler deploy --dry-run --outdir` in an export of it).
 */
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { buildWorker } from "../../scripts/lib/local-edge.ts";
import { assertSupportedNode, PROJECT_ROOT } from "../../scripts/lib/wrangler.ts";

export default async function setup(project: TestProject) {
  assertSupportedNode();
  const script =
    process.env.FAULTS_WORKER_SCRIPT ?? (await buildWorker(join(PROJECT_ROOT, "test-results", "faults", "worker")));
  project.provide("faultsWorkerScript", script);
}

declare module "vitest" {
  export interface ProvidedContext {
    /** The bundled Worker (index.js) the fault tests run. */
    faultsWorkerScript: string;
  }
}
