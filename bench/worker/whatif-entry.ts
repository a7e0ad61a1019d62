/**
 * The comparison build: the timed Worker (entry.ts) unchanged. bench/lib/edge.ts runs it with
 * CLIENT_CACHE_SECONDS=0, so that the client registration cache added to src/ after the first
 * benchmark is measured against the behaviour before it (a D1 read on every authenticated
 * request), side by side in the same workerd.
 */
import entry from "./entry";

export * from "./entry";

export default entry;
