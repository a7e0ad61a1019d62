/** A RequestContext for calling protocol code directly (without HTTP) inside the test Worker. */
import { env } from "cloudflare:workers";
import { loadSettings } from "../../src/config";
import type { RequestContext } from "../../src/http/context";

export function testContext(request = new Request("http://localhost:8787/")): RequestContext {
  return { env, settings: loadSettings(env), request };
}
