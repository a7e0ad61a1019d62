/**
 * What ending a browser session does besides deleting it, whichever way it ends (the sign-out
 * button, RP-Initiated Logout): the grants issued in the session without `offline_access` are
 * revoked, their refresh-token families and their access tokens (revoked_grants, reason
 * "logout"); grants with offline_access were asked for to outlive the session and are kept.
 * Every client that got tokens in the session and registered a `backchannel_logout_uri` is sent
 * a logout token (Back-Channel Logout §2.5), through a LogoutDelivery object that retries it.
 */
import type { RequestContext } from "../context";
import { logger } from "../log";
import { loadKeys } from "../tokens/keys";
import { revokeRefreshFamily } from "../tokens/refresh-tokens";
import { revokeGrant } from "../tokens/revoked-grants";
import { mintLogoutToken } from "./logout-token";
import type { SessionGrant } from "./session-grants";

export interface EndedSession {
  subject: string;
  sid: string;
}

/** Revokes and notifies for the session `session`; the caller deletes the session itself. */
export async function logOutSession(ctx: RequestContext, session: EndedSession): Promise<void> {
  if (session.sid === "") return;
  const store = ctx.stores.sessionGrants;
  // With the subject, the CIBA grants approved in this session too (kept in the user's object).
  const grants = await store.forSession(session.sid, session.subject);
  const revoked = grants.filter((grant) => !grant.offlineAccess);
  await revokeGrants(ctx, revoked, "logout");
  await store.deleteGrants(
    revoked.map((grant) => grant.grantId),
    session.subject,
  );
  await store.deleteExpired();
  const clientIds = [...new Set(grants.map((grant) => grant.clientId))];
  const notified = await notifyClients(ctx, session, clientIds);
  logger.info("session_logged_out", { revoked: revoked.length, kept: grants.length - revoked.length, notified });
}

/** Revokes each grant: its refresh-token family, if it has one, and its access tokens. */
export async function revokeGrants(
  ctx: RequestContext,
  grants: SessionGrant[],
  reason: "logout" | "withdrawn" | "client_removed" | "user_removed",
): Promise<void> {
  await Promise.all(
    grants.map(async (grant) => {
      if (grant.familyId) await revokeRefreshFamily(ctx, grant.familyId);
      await revokeGrant(ctx.env.DB, grant.grantId, reason, ctx.settings);
    }),
  );
}

/** Back-Channel Logout §2.5/§2.6: one logout token per client with a backchannel_logout_uri. */
async function notifyClients(ctx: RequestContext, session: EndedSession, clientIds: string[]): Promise<number> {
  const { settings } = ctx;
  let notified = 0;
  const keys = await loadKeys(ctx);
  for (const clientId of clientIds) {
    const client = await ctx.stores.clients.find(clientId);
    const url = client?.backchannel_logout_uri;
    if (!url) continue;
    const logoutToken = await mintLogoutToken(keys, {
      issuer: settings.issuer,
      clientId,
      subject: session.subject,
      sid: session.sid,
    });
    const namespace = ctx.env.LOGOUT_DELIVERIES;
    await namespace.get(namespace.idFromName(`bcl:${session.sid}:${clientId}`)).enqueue({
      clientId,
      url,
      logoutToken,
      maxAttempts: settings.backchannelLogoutMaxAttempts,
      timeoutMs: settings.backchannelLogoutTimeout * 1000,
      allowHttp: settings.allowHttpNotificationEndpoints,
    });
    notified++;
  }
  return notified;
}
