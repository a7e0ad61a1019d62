/**
 * The bank Worker's env: edge-op's bindings (under the names of its wrangler.toml, which are
 * edge-op's defaults) plus the bank's own.
 */
import type { Bindings } from "edge-op";

export interface Env extends Bindings {
  /** The bank's customer directory, over HTTP (wrangler.toml: a service binding). */
  DIRECTORY: Fetcher;
  /** Where the bank's notification service records the notices it sends. */
  NOTIFICATIONS: KVNamespace;
}
