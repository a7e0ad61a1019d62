/**
 * A relying party built with openid-client, wired to call the Worker under test directly
 * (customFetch) instead of the network, over plain http (the local issuer).
 */
import { exports } from "cloudflare:workers";
import * as client from "openid-client";
import { ISSUER } from "./http";

const viaWorker: client.CustomFetch = (url, options) =>
  exports.default.fetch(new Request(url, options as RequestInit)) as unknown as ReturnType<client.CustomFetch>;

export async function discoverAs(
  clientId: string,
  metadata: Partial<client.ClientMetadata> | string | undefined,
  auth?: client.ClientAuth,
): Promise<client.Configuration> {
  return client.discovery(new URL(ISSUER), clientId, metadata, auth, {
    [client.customFetch]: viaWorker,
    execute: [client.allowInsecureRequests],
  });
}

export { client };
