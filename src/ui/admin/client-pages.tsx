/** The console's client pages: list and search, templates, the add/edit form, one client. */
import type { ClientField, ClientFormValues } from "../../admin/client-form";
import type { ClientTemplate } from "../../admin/client-templates";
import type { AdminClient } from "../../admin/clients";
import {
  ASYMMETRIC_ALGS,
  AUTH_METHODS,
  CLIENT_PROFILES,
  DELIVERY_MODES,
  GRANT_TYPES,
  HMAC_ALGS,
} from "../../clients/metadata";
import { useRoutes } from "../routes-context";
import { type AdminFrame, AdminLayout, FieldError, formatTime, ReauthField } from "./layout";

type Frame = Omit<AdminFrame, "section">;

export function ClientListPage(props: Frame & { clients: AdminClient[]; search: string }) {
  const routes = useRoutes();
  return (
    <AdminLayout {...props} section="adminClients" title="Clients">
      <h1>Clients</h1>
      <form method="get" action={routes.path("adminClients")} class="search">
        <div>
          <label for="q">Search by id or name</label>
          <input type="text" id="q" name="q" value={props.search} />
        </div>
        <button type="submit" class="secondary">
          Search
        </button>
        <a class="button primary" href={routes.path("adminClientNew")}>
          Add client
        </a>
      </form>
      {props.clients.length === 0 ? (
        <p class="muted">No clients found.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Client</th>
              <th scope="col">Authentication</th>
              <th scope="col">Grant types</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {props.clients.map(({ client, disabledAt }) => (
              <tr>
                <td>
                  <a href={routes.path("adminClient", { clientId: client.client_id })}>{client.client_id}</a>
                  <div class="muted">{client.client_name}</div>
                </td>
                <td>{client.token_endpoint_auth_method}</td>
                <td>{client.grant_types.map(grantLabel).join(", ")}</td>
                <td>
                  <span class={disabledAt ? "badge off" : "badge"}>{disabledAt ? "disabled" : "active"}</span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </AdminLayout>
  );
}

function grantLabel(grant: string): string {
  return grant === GRANT_TYPES.ciba ? "ciba" : grant;
}

export function TemplatePage(props: Frame & { templates: readonly ClientTemplate[] }) {
  const routes = useRoutes();
  return (
    <AdminLayout {...props} section="adminClients" title="Add client">
      <h1>Add client</h1>
      <p>Start from a template; every field can be changed before saving.</p>
      <div class="grid">
        {props.templates.map((template) => (
          <a class="card" href={`${routes.path("adminClientNew")}?template=${template.id}`}>
            <strong>{template.title}</strong>
            <p class="muted">{template.description}</p>
          </a>
        ))}
      </div>
    </AdminLayout>
  );
}

export interface ClientFormProps extends Frame {
  mode: "create" | "edit";
  values: ClientFormValues;
  templateTitle?: string;
  error?: { field: ClientField; message: string };
}

export function ClientFormPage(props: ClientFormProps) {
  const routes = useRoutes();
  const v = props.values;
  const errorOf = (field: ClientField) => (props.error?.field === field ? props.error.message : undefined);
  const action =
    props.mode === "create" ? routes.path("adminClientNew") : routes.path("adminClientEdit", { clientId: v.client_id });
  const title =
    props.mode === "create"
      ? `Add client${props.templateTitle ? `: ${props.templateTitle}` : ""}`
      : `Edit ${v.client_id}`;
  const text = (field: keyof ClientFormValues & ClientField, label: string, hint?: string) => (
    <>
      <label for={field}>{label}</label>
      {hint ? <p class="hint">{hint}</p> : null}
      <input
        type="text"
        id={field}
        name={field}
        value={String(v[field])}
        aria-invalid={errorOf(field) ? "true" : undefined}
        readonly={props.mode === "edit" && field === "client_id" ? true : undefined}
      />
      <FieldError id={field} message={errorOf(field)} />
    </>
  );
  const select = (field: keyof ClientFormValues & ClientField, label: string, options: readonly string[]) => (
    <>
      <label for={field}>{label}</label>
      <select id={field} name={field}>
        {options.map((option) => (
          <option value={option} selected={v[field] === option}>
            {option === "" ? "(none)" : option}
          </option>
        ))}
      </select>
      <FieldError id={field} message={errorOf(field)} />
    </>
  );
  const check = (field: keyof ClientFormValues & ClientField, label: string) => (
    <>
      <label class="check">
        <input type="checkbox" name={field} checked={v[field] === true} /> {label}
      </label>
      <FieldError id={field} message={errorOf(field)} />
    </>
  );
  return (
    <AdminLayout {...props} section="adminClients" title={title}>
      <h1>{title}</h1>
      {props.error?.field === "form" ? (
        <p class="error" role="alert">
          {props.error.message}
        </p>
      ) : null}
      <form method="post" action={action}>
        <input type="hidden" name="csrf" value={props.csrf} />
        <fieldset>
          <legend>Identity</legend>
          {text("client_id", "Client ID")}
          {text("client_name", "Name")}
        </fieldset>
        <fieldset>
          <legend>Authentication</legend>
          {select("token_endpoint_auth_method", "Token endpoint authentication", AUTH_METHODS)}
          {props.mode === "create" ? (
            <p class="hint">Secret methods get a generated secret, shown once after saving.</p>
          ) : null}
          {text(
            "tls_client_auth_subject_dn",
            "Certificate subject DN (tls_client_auth)",
            "RFC 4514, e.g. CN=client. Leave empty for other methods.",
          )}
          <label for="jwks">Public keys (JWK set)</label>
          <p class="hint">For private_key_jwt, self_signed_tls_client_auth and signed requests (FAPI-CIBA).</p>
          <textarea id="jwks" name="jwks" rows={6}>
            {v.jwks}
          </textarea>
          <FieldError id="jwks" message={errorOf("jwks")} />
          {select(
            "token_endpoint_auth_signing_alg",
            "Client assertion signing alg (private_key_jwt, client_secret_jwt)",
            ["", ...ASYMMETRIC_ALGS, ...HMAC_ALGS],
          )}
        </fieldset>
        <fieldset>
          <legend>Security profile</legend>
          {select("profile", "Profile (fapi2: the FAPI 2.0 Security Profile)", ["", ...CLIENT_PROFILES])}
          {check("dpop_bound_access_tokens", "Always use DPoP at the token endpoint (DPoP-bound tokens)")}
        </fieldset>
        <fieldset>
          <legend>Grants and scopes</legend>
          {Object.values(GRANT_TYPES).map((grant) => (
            <label class="check">
              <input type="checkbox" name="grant_types" value={grant} checked={v.grant_types.includes(grant)} /> {grant}
            </label>
          ))}
          <FieldError id="grant_types" message={errorOf("grant_types")} />
          {text("scope", "Scopes", "Space-separated, from the provider's scopes_supported.")}
          <label for="redirect_uris">Redirect URIs (one per line)</label>
          <textarea id="redirect_uris" name="redirect_uris" rows={3}>
            {v.redirect_uris}
          </textarea>
          <FieldError id="redirect_uris" message={errorOf("redirect_uris")} />
          {check("require_pushed_authorization_requests", "Require pushed authorization requests (PAR)")}
          {select("request_object_signing_alg", "Request object signing alg", ["", ...ASYMMETRIC_ALGS])}
        </fieldset>
        <fieldset>
          <legend>CIBA</legend>
          {select("backchannel_token_delivery_mode", "Token delivery mode", ["", ...DELIVERY_MODES])}
          {text("backchannel_client_notification_endpoint", "Client notification endpoint (ping, push)")}
          {select("backchannel_authentication_request_signing_alg", "Signed request alg", ["", ...ASYMMETRIC_ALGS])}
          {check("backchannel_user_code_parameter", "Supports user_code")}
          {check("fapi_ciba", "FAPI-CIBA profile")}
        </fieldset>
        <div class="actions">
          <button type="submit" class="primary">
            Save
          </button>
        </div>
      </form>
    </AdminLayout>
  );
}

export function ClientPage(
  props: Frame & { entry: AdminClient; secret?: string; reauthError?: string; notice?: string },
) {
  const routes = useRoutes();
  const { client, disabledAt, createdAt } = props.entry;
  const id = { clientId: client.client_id };
  const rows: [string, string | undefined][] = [
    ["Name", client.client_name],
    ["Authentication", client.token_endpoint_auth_method],
    ["Certificate subject DN", client.tls_client_auth_subject_dn],
    ["Grant types", client.grant_types.join(" ")],
    ["Scopes", client.scope],
    ["Redirect URIs", client.redirect_uris.join(" ")],
    ["CIBA delivery", client.backchannel_token_delivery_mode],
    ["Signed request alg", client.backchannel_authentication_request_signing_alg],
    ["FAPI-CIBA", client.fapi_ciba ? "yes" : undefined],
    ["Profile", client.profile === "fapi2" ? "FAPI 2.0 Security Profile" : undefined],
    ["DPoP-bound tokens", client.dpop_bound_access_tokens ? "required" : undefined],
    ["Requires PAR", client.require_pushed_authorization_requests ? "yes" : undefined],
    ["Keys", client.jwks ? `${client.jwks.keys.length} registered` : client.jwks_uri],
    ["Created", formatTime(createdAt)],
    ["Status", disabledAt ? `disabled since ${formatTime(disabledAt)}` : "active"],
  ];
  return (
    <AdminLayout {...props} section="adminClients" title={client.client_id}>
      <h1>{client.client_id}</h1>
      {props.notice ? <p role="status">{props.notice}</p> : null}
      {props.secret ? (
        <section aria-labelledby="secret-heading">
          <h2 id="secret-heading">Client secret</h2>
          <p>Copy it now: it is shown only this once and stored only as a hash.</p>
          <p class="secret" id="client-secret">
            {props.secret}
          </p>
        </section>
      ) : null}
      <dl class="props">
        {rows
          .filter((row): row is [string, string] => Boolean(row[1]))
          .map(([name, value]) => (
            <>
              <dt>{name}</dt>
              <dd>{value}</dd>
            </>
          ))}
      </dl>
      <div class="actions">
        <a class="button secondary" href={routes.path("adminClientEdit", id)}>
          Edit
        </a>
        <form method="post" action={routes.path("adminClientDisable", id)} class="inline">
          <input type="hidden" name="csrf" value={props.csrf} />
          <input type="hidden" name="disabled" value={disabledAt ? "false" : "true"} />
          <button type="submit" class="secondary">
            {disabledAt ? "Enable" : "Disable"}
          </button>
        </form>
      </div>
      <form method="post" action={routes.path("adminClientRemove", id)}>
        <fieldset>
          <legend>Remove this client</legend>
          <p class="hint">Its tokens stop working at its next authentication. This cannot be undone.</p>
          <input type="hidden" name="csrf" value={props.csrf} />
          <ReauthField error={props.reauthError} />
          <div class="actions">
            <button type="submit" class="danger">
              Remove client
            </button>
          </div>
        </fieldset>
      </form>
    </AdminLayout>
  );
}
