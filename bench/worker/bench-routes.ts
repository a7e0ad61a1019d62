/**
 * The one bench-only route of the benchmark build: the user's answer to a CIBA request, given
 * through the product's own BackchannelAuthenticationInteractionService (its provider's
 * `interaction(env)`), as the pages and the
 * authenticator API give it, minus their sign-in check (the benchmark plays a user who is already
 * signed in).
 *
 *   POST /__bench/ciba/complete {"auth_req_id", "subject", "scopes"}
 *
 * The request's internalId is the id of its Durable Object, `idFromName(sha256(auth_req_id))`
 * (docs/ciba.md): computed here, so finding the request costs no storage operation. In
 * production the user's device learns it from the notification's approval URL.
 */
import { sha256Hex } from "../../src/crypto/hash";
import type { Bindings } from "../../src/env";
import worker from "../../src/worker";

export const BENCH_PREFIX = "/__bench/";

interface CompleteBody {
  auth_req_id?: unknown;
  subject?: unknown;
  scopes?: unknown;
}

export async function benchRoute(request: Request, env: Bindings): Promise<Response> {
  const { pathname } = new URL(request.url);
  if (pathname === `${BENCH_PREFIX}ciba/complete` && request.method === "POST") return completeCiba(request, env);
  return Response.json({ error: "not_found" }, { status: 404 });
}

async function completeCiba(request: Request, env: Bindings): Promise<Response> {
  const body = (await request.json()) as CompleteBody;
  if (typeof body.auth_req_id !== "string" || typeof body.subject !== "string" || !Array.isArray(body.scopes)) {
    return Response.json({ error: "invalid_request" }, { status: 400 });
  }
  const internalId = env.BACKCHANNEL_REQUESTS.idFromName(await sha256Hex(body.auth_req_id)).toString();
  const outcome = await worker
    .interaction(env)
    .backchannel.completeLoginRequest(
      { internalId, scopesValuesConsented: body.scopes.map(String) },
      { subject: body.subject, sessionId: "bench-session", authTime: Math.floor(Date.now() / 1000), amr: ["pwd"] },
    );
  return outcome.ok
    ? Response.json({ status: outcome.request.status })
    : Response.json({ error: outcome.reason }, { status: 409 });
}
