/** Helpers for CIBA tests: start a request, reach its object, move its clock. */
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { BackchannelAuthenticationRequest } from "../../src/ciba/model";
import { DurableObjectBackchannelRequestStore as BackchannelAuthenticationRequestStore } from "../../src/ciba/request-store";
import { type PendingRequest, userObjectName } from "../../src/users/user-object";
import { basic, jsonOf, type OAuthErrorBody, postForm } from "./http";

export const CIBA_GRANT = "urn:openid:params:grant-type:ciba";

export interface BackchannelResponse {
  auth_req_id: string;
  expires_in: number;
  interval?: number;
}

export async function backchannel(
  clientId: string,
  secret: string,
  params: Record<string, string> | string,
): Promise<{ status: number; body: BackchannelResponse & OAuthErrorBody; headers: Headers }> {
  const response = await postForm("/bc-authorize", params, basic(clientId, secret));
  const headers = response.headers;
  return { ...(await jsonOf<BackchannelResponse & OAuthErrorBody>(response)), headers };
}

export async function poll(clientId: string, secret: string, authReqId: string) {
  return jsonOf<Record<string, unknown> & OAuthErrorBody>(
    await postForm("/token", { grant_type: CIBA_GRANT, auth_req_id: authReqId }, basic(clientId, secret)),
  );
}

export function store(): BackchannelAuthenticationRequestStore {
  return new BackchannelAuthenticationRequestStore(env);
}

export async function requestFor(authReqId: string): Promise<BackchannelAuthenticationRequest> {
  const request = await store().getByAuthenticationRequestId(authReqId);
  if (!request) throw new Error("no such request");
  return request;
}

function stubFor(internalId: string) {
  return env.BACKCHANNEL_REQUESTS.get(env.BACKCHANNEL_REQUESTS.idFromString(internalId));
}

/** Changes a request's stored record in place (its object keeps it as JSON under the "request" key). */
export async function editRecord(
  internalId: string,
  change: (record: BackchannelAuthenticationRequest) => void,
): Promise<void> {
  await runInDurableObject(stubFor(internalId), (_instance, state) => {
    const record = JSON.parse(String(state.storage.kv.get("request"))) as BackchannelAuthenticationRequest;
    change(record);
    state.storage.kv.put("request", JSON.stringify(record));
  });
}

/**
 * Moves a request's creation time back by `seconds`, as if it had been made that long ago: in
 * its object and, while it is listed, in its user's pending list (src/users/user-object.ts).
 */
export async function ageRequest(internalId: string, seconds: number): Promise<void> {
  let subject = "";
  await editRecord(internalId, (record) => {
    record.creationTime -= seconds;
    subject = record.subject;
  });
  const users = env.USERS;
  const user = users.get(users.idFromName(await userObjectName(subject)));
  await runInDurableObject(user, (_instance, state) => {
    const key = `pending:${internalId}`;
    const entry = state.storage.kv.get<{ view: PendingRequest; detail?: string }>(key);
    if (!entry) return;
    const detail = entry.detail === undefined ? undefined : JSON.parse(entry.detail);
    if (detail) detail.creationTime -= seconds;
    state.storage.kv.put(key, {
      view: { ...entry.view, createdAt: entry.view.createdAt - seconds, expiresAt: entry.view.expiresAt - seconds },
      ...(detail ? { detail: JSON.stringify(detail) } : {}),
    });
  });
}

/** Everything the request's object has stored, as text, to check what is (not) in it. */
export async function rawStorage(internalId: string): Promise<string> {
  return runInDurableObject(stubFor(internalId), (_instance, state) => JSON.stringify([...state.storage.kv.list()]));
}

/**
 * Runs the request's alarm until `done` holds for its record. The alarm also fires by itself
 * (miniflare runs alarms on time), so a run that finds no alarm waits a little and looks again.
 */
export async function runAlarmsUntil(
  internalId: string,
  done: (request: BackchannelAuthenticationRequest) => boolean,
  what = "the condition",
): Promise<BackchannelAuthenticationRequest> {
  for (let i = 0; i < 60; i++) {
    const request = await store().getByInternalId(internalId);
    if (!request) throw new Error("the request vanished");
    if (done(request)) return request;
    if (!(await runDurableObjectAlarm(stubFor(internalId)))) await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the request's alarm never reached ${what}`);
}

/** Runs the alarm until the ping/push delivery to the client is over (sent or failed). */
export function settleClientDelivery(internalId: string): Promise<BackchannelAuthenticationRequest> {
  return runAlarmsUntil(
    internalId,
    (r) => r.clientDeliveryStatus === "sent" || r.clientDeliveryStatus === "failed",
    "a finished client delivery",
  );
}

/** When the request's alarm is set to fire next (ms), or null. */
export async function nextAlarm(internalId: string): Promise<number | null> {
  return runInDurableObject(stubFor(internalId), (_instance, state) => state.storage.getAlarm());
}

export { stubFor };
