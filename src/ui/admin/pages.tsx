/** The console's overview and audit log pages. */
import type { AuditEntry } from "../../admin/store";
import { useRoutes } from "../routes-context";
import { type AdminFrame, AdminLayout, formatTime } from "./layout";

type Frame = Omit<AdminFrame, "section">;

export function OverviewPage(props: Frame & { clients: number; audit: AuditEntry[]; hasPasskey: boolean }) {
  const routes = useRoutes();
  return (
    <AdminLayout {...props} section="admin" title="Overview">
      <h1>Administration</h1>
      {props.hasPasskey ? null : (
        <p class="muted" data-testid="passkey-step-up-off">
          You have no passkey, so the console asks only for your password.{" "}
          <a href={routes.path("passkeys")}>Add a passkey</a> to turn on the passkey step-up: then a session signed in
          with a password confirms with the passkey before the console opens.
        </p>
      )}
      <div class="grid">
        <a class="card" href={routes.path("adminClients")}>
          <strong>Clients</strong>
          <p class="muted">{`${props.clients} registered. Add one from a template, edit, disable or remove.`}</p>
        </a>
        <a class="card" href={routes.path("adminCas")}>
          <strong>Certificates</strong>
          <p class="muted">Certificate authorities and client certificates for mutual TLS.</p>
        </a>
        <a class="card" href={routes.path("adminUsers")}>
          <strong>Users</strong>
          <p class="muted">Add users, reset passwords, user codes, pending CIBA requests.</p>
        </a>
        <a class="card" href={routes.path("adminKeys")}>
          <strong>Signing keys</strong>
          <p class="muted">Signing keys: add, retire, and what /jwks serves.</p>
        </a>
        <a class="card" href={routes.path("adminAudit")}>
          <strong>Audit log</strong>
          <p class="muted">Who changed what, and when.</p>
        </a>
      </div>
      <h2>Recent changes</h2>
      <AuditTable entries={props.audit} />
    </AdminLayout>
  );
}

export function AuditPage(props: Frame & { entries: AuditEntry[]; olderHref?: string }) {
  return (
    <AdminLayout {...props} section="adminAudit" title="Audit log">
      <h1>Audit log</h1>
      <p class="muted">Every change made in the console, newest first. Secrets are never recorded.</p>
      <AuditTable entries={props.entries} />
      {props.olderHref ? (
        <p>
          <a href={props.olderHref}>Older entries</a>
        </p>
      ) : null}
    </AdminLayout>
  );
}

function AuditTable(props: { entries: AuditEntry[] }) {
  if (props.entries.length === 0) return <p class="muted">Nothing recorded yet.</p>;
  return (
    <table>
      <thead>
        <tr>
          <th scope="col">When</th>
          <th scope="col">Who</th>
          <th scope="col">What</th>
          <th scope="col">Target</th>
          <th scope="col">Detail</th>
        </tr>
      </thead>
      <tbody>
        {props.entries.map((entry) => (
          <tr>
            <td>{formatTime(entry.at)}</td>
            <td>
              <code>{entry.actor}</code>
            </td>
            <td>{entry.action}</td>
            <td>
              <code>{entry.target}</code>
            </td>
            <td>{entry.detail}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
