/** RFC 8707 resource indicators, shared by every endpoint that takes `resource`. */
import { InvalidTarget } from "./errors";
import type { FormParams } from "./form";

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
