/**
 * A what-if build, to measure a hot-path change before anyone makes it in src/: the timed
 * Worker (entry.ts) with the client registry's lookup cached in the isolate for 60 s. Every
 * authenticated request (/bc-authorize, /token, /par) otherwise reads its client from D1: a
 * round trip to the database's one location on every request. Run side by side with the
 * unchanged build in the same workerd; the difference is the gain the change would bring.
 *
 * The patch replaces `ClientRegistry.prototype.find` of the very module instance the app uses
 * (one bundle, one module graph), so nothing else differs.
 */

import type { Client } from "../../src/clients/metadata";
import { ClientRegistry } from "../../src/clients/registry";
import entry from "./entry";

export * from "./entry";

const TTL_MS = 60_000;
const cache = new Map<string, { client: Client | undefined; expires: number }>();
const uncachedFind = ClientRegistry.prototype.find;

ClientRegistry.prototype.find = async function find(this: ClientRegistry, clientId: string) {
  const hit = cache.get(clientId);
  if (hit && hit.expires > Date.now()) return hit.client;
  const client = await uncachedFind.call(this, clientId);
  cache.set(clientId, { client, expires: Date.now() + TTL_MS });
  return client;
};

export default entry;
