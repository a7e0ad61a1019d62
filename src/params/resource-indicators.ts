/** RFC 8707 resource indicators, shared by every endpoint that takes `resource`. */
import { InvalidTarget } from "../errors";
import type { FormParams } from "./form-params";

/** §2: each resource is an absolute URI without a fragment; repeats collapse. */
export function checkResources(params: Pick<FormParams, "getAll">): string[] {
  const resources = [...new Set(params.getAll("resource"))];
  for (const resource of resources) {
    if (resource.includes("#") || !URL.canParse(resource)) {
      throw new InvalidTarget("resource must be an absolute URI without a fragment");
    }
  }
  return resources;
}

/**
 * The audiences an access token may have at one of this provider's own resource endpoints
 * (RFC 9068 §4: the resource server checks that `aud` identifies it). A token requested without
 * `resource` has aud = the issuer and is good at each of them; a client may also ask for a token
 * for one endpoint alone by naming its URL as the `resource` (§2). Every `aud` value must be one
 * of these: a token that also names another resource server was shown to that server, which
 * could replay it here (src/tokens/bearer.ts).
 */
export function ownEndpointAudiences(issuer: string, endpointUrl: string): string[] {
  return [issuer, endpointUrl];
}
