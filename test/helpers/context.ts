/** A RequestContext for calling protocol code directly (without HTTP) inside the test Worker. */
import { env } from "cloudflare:workers";
import type { RequestContext } from "../../src/context";
import { provider } from "../worker";

export function testContext(request = new Request("http://localhost:8787/")): RequestContext {
  return provider.context(env, request);
}
