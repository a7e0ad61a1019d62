/** The console's frame: the user pages' header and stylesheet, a nav bar, a wider main. */
import type { Child } from "hono/jsx";
import type { RouteName } from "../../routes";
import { useRoutes } from "../routes-context";

export interface AdminFrame {
  adminName: string;
  csrf: string;
  /** The nav entry of this page. */
  section:
    | "admin"
    | "adminClients"
    | "adminCas"
    | "adminCertificates"
    | "adminUsers"
    | "adminKeys"
    | "adminAudit"
    | "adminDeliveries";
}

const NAV: readonly [RouteName & AdminFrame["section"], string][] = [
  ["admin", "Overview"],
  ["adminClients", "Clients"],
  ["adminCas", "Certificate authorities"],
  ["adminCertificates", "Client certificates"],
  ["adminUsers", "Users"],
  ["adminKeys", "Signing keys"],
  ["adminAudit", "Audit log"],
  ["adminDeliveries", "Failed deliveries"],
];

export function AdminLayout(props: AdminFrame & { title: string; children?: Child }) {
  const routes = useRoutes();
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · edge-op admin`}</title>
        <link rel="stylesheet" href={routes.path("stylesheet")} />
        <link rel="stylesheet" href={routes.path("adminStylesheet")} />
      </head>
      <body>
        <header>
          <span class="brand">edge-op · admin</span>
          <form method="post" action={routes.path("signOut")}>
            <input type="hidden" name="csrf" value={props.csrf} />
            <span class="muted">{props.adminName} </span>
            <button type="submit" class="secondary">
              Sign out
            </button>
          </form>
        </header>
        <nav class="admin" aria-label="Console">
          {NAV.map(([name, text]) => (
            <a href={routes.path(name)} aria-current={props.section === name ? "page" : undefined}>
              {text}
            </a>
          ))}
        </nav>
        <main class="admin">{props.children}</main>
      </body>
    </html>
  );
}

/** The error for one form field, shown beside it. */
export function FieldError(props: { id: string; message?: string }) {
  return props.message ? (
    <p class="field-error" id={`${props.id}-error`} role="alert">
      {props.message}
    </p>
  ) : null;
}

/** The password field of a dangerous action (re-authentication). */
export function ReauthField(props: { error?: string }) {
  return (
    <>
      <label for="reauth-password">Your password (confirms this action)</label>
      <input type="password" id="reauth-password" name="password" autocomplete="current-password" required />
      <FieldError id="reauth-password" message={props.error} />
    </>
  );
}

export function formatTime(seconds: number): string {
  return `${new Date(seconds * 1000).toISOString().replace("T", " ").slice(0, 19)} UTC`;
}
