/**
 * The console's "Failed deliveries" page (issue 19): user notices and ping/push deliveries to
 * clients that failed after their retries, newest first, kept 30 days after the request itself
 * is gone (src/outbound/delivery-failures.ts). `?client=<id>` narrows it to one client.
 */
import type { Context, Handler, Hono } from "hono";
import type { AppEnv } from "../../http/app-env";
import { route } from "../../http/route";
import { type DeliveryFailure, DeliveryFailureStore } from "../../outbound/delivery-failures";
import { PATHS } from "../../routes";
import { render } from "../page";
import { useRoutes } from "../routes-context";
import type { Admin } from "./guard";
import { type AdminFrame, AdminLayout, formatTime } from "./layout";

type AdminPage = (handler: (c: Context<AppEnv>, admin: Admin) => Promise<Response>) => Handler<AppEnv>;

const PAGE_SIZE = 50;

const KIND_TEXT: Record<DeliveryFailure["kind"], string> = {
  user_notice: "notice to the user",
  ping: "ping to the client",
  push: "push to the client",
};

export function mountDeliveryFailurePages(app: Hono<AppEnv>, adminPage: AdminPage): void {
  route(app, PATHS.adminDeliveries, { GET: adminPage(deliveryFailures) });
}

async function deliveryFailures(c: Context<AppEnv>, admin: Admin): Promise<Response> {
  const before = Number.parseInt(c.req.query("before") ?? "", 10);
  const clientId = c.req.query("client")?.slice(0, 128) || undefined;
  const failures = await new DeliveryFailureStore(c.var.ctx.env.DB).recent(PAGE_SIZE, {
    before: Number.isSafeInteger(before) ? before : undefined,
    clientId,
  });
  const last = failures.at(-1);
  const older = new URLSearchParams(clientId ? { client: clientId } : {});
  if (last) older.set("before", String(last.id));
  const olderHref =
    failures.length === PAGE_SIZE && last ? `${c.var.ctx.routes.path("adminDeliveries")}?${older}` : undefined;
  return render(
    c,
    <DeliveryFailuresPage
      adminName={admin.adminName}
      csrf={admin.csrf}
      failures={failures}
      clientId={clientId}
      olderHref={olderHref}
    />,
  );
}

export function DeliveryFailuresPage(
  props: Omit<AdminFrame, "section"> & { failures: DeliveryFailure[]; clientId?: string; olderHref?: string },
) {
  const routes = useRoutes();
  return (
    <AdminLayout {...props} section="adminDeliveries" title="Failed deliveries">
      <h1>Failed deliveries</h1>
      <p class="muted">
        Notices to users and pings or pushes to clients that failed after every retry, newest first, kept for 30 days.
        The request's own record (and the log's <code>ciba_notification_failed</code> and{" "}
        <code>ciba_client_notification_failed</code> events) say more while it exists.
        {props.clientId ? (
          <>
            {" "}
            Showing client <code>{props.clientId}</code> only: <a href={routes.path("adminDeliveries")}>show all</a>.
          </>
        ) : null}
      </p>
      {props.failures.length === 0 ? (
        <p class="muted">No failed deliveries.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">What</th>
              <th scope="col">Client</th>
              <th scope="col">User</th>
              <th scope="col">Request</th>
              <th scope="col">Attempts</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {props.failures.map((failure) => (
              <tr data-testid="delivery-failure">
                <td>{formatTime(failure.failedAt)}</td>
                <td>{KIND_TEXT[failure.kind]}</td>
                <td>
                  <a href={`${routes.path("adminDeliveries")}?client=${encodeURIComponent(failure.clientId)}`}>
                    <code>{failure.clientId}</code>
                  </a>
                </td>
                <td>
                  <a href={routes.path("adminUser", { sub: failure.subject })}>
                    <code>{failure.subject}</code>
                  </a>
                </td>
                <td>
                  <code>{failure.requestId}</code>
                </td>
                <td>{failure.attempts}</td>
                <td>{failure.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {props.olderHref ? (
        <p>
          <a href={props.olderHref}>Older failures</a>
        </p>
      ) : null}
    </AdminLayout>
  );
}
