/** The console's user pages. */
import type { UserSummary } from "../../admin/users";
import type { BackchannelAuthenticationRequest } from "../../ciba/model";
import { useRoutes } from "../routes-context";
import { type AdminFrame, AdminLayout, FieldError, formatTime } from "./layout";

type Frame = Omit<AdminFrame, "section">;
type FieldProblem = { field: string; message: string };
const errorFor = (error: FieldProblem | undefined, field: string) =>
  error?.field === field ? error.message : undefined;

export function UserListPage(props: Frame & { users: UserSummary[]; search: string; error?: FieldProblem }) {
  const routes = useRoutes();
  return (
    <AdminLayout {...props} section="adminUsers" title="Users">
      <h1>Users</h1>
      <form method="get" action={routes.path("adminUsers")} class="search">
        <div>
          <label for="q">Search by username, e-mail or name</label>
          <input type="text" id="q" name="q" value={props.search} />
        </div>
        <button type="submit" class="secondary">
          Search
        </button>
      </form>
      <table>
        <thead>
          <tr>
            <th scope="col">Username</th>
            <th scope="col">Name</th>
            <th scope="col">E-mail</th>
            <th scope="col">user_code</th>
            <th scope="col">Status</th>
          </tr>
        </thead>
        <tbody>
          {props.users.map((user) => (
            <tr>
              <td>
                <a href={routes.path("adminUser", { sub: user.sub })}>{user.username}</a>
              </td>
              <td>{user.name ?? ""}</td>
              <td>{user.email ?? ""}</td>
              <td>{user.has_user_code}</td>
              <td>{user.disabled_at ? <span class="badge off">disabled</span> : "active"}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <form method="post" action={routes.path("adminUsers")}>
        <fieldset>
          <legend>Add user</legend>
          <input type="hidden" name="csrf" value={props.csrf} />
          <label for="new-username">Username</label>
          <input type="text" id="new-username" name="username" autocomplete="off" />
          <FieldError id="new-username" message={errorFor(props.error, "username")} />
          <label for="new-name">Name</label>
          <input type="text" id="new-name" name="name" autocomplete="off" />
          <label for="new-email">E-mail</label>
          <input type="text" id="new-email" name="email" autocomplete="off" />
          <FieldError id="new-email" message={errorFor(props.error, "email")} />
          <label for="new-password">Password (at least 8 characters)</label>
          <input type="password" id="new-password" name="password" autocomplete="new-password" />
          <FieldError id="new-password" message={errorFor(props.error, "password")} />
          <div class="actions">
            <button type="submit" class="primary">
              Add user
            </button>
          </div>
        </fieldset>
      </form>
    </AdminLayout>
  );
}

export function UserPage(
  props: Frame & {
    user: UserSummary;
    pending: BackchannelAuthenticationRequest[];
    notice?: string;
    error?: FieldProblem;
  },
) {
  const routes = useRoutes();
  const { user } = props;
  const id = { sub: user.sub };
  return (
    <AdminLayout {...props} section="adminUsers" title={user.username}>
      <h1>{user.username}</h1>
      {props.notice ? <p role="status">{props.notice}</p> : null}
      <dl class="props">
        <dt>Subject (sub)</dt>
        <dd>
          <code>{user.sub}</code>
        </dd>
        <dt>Name</dt>
        <dd>{user.name ?? ""}</dd>
        <dt>E-mail</dt>
        <dd>{user.email ?? ""}</dd>
        <dt>CIBA user_code</dt>
        <dd>{user.has_user_code === "yes" ? "set (stored as a keyed hash)" : "none"}</dd>
        <dt>Status</dt>
        <dd>{user.disabled_at ? `disabled since ${formatTime(user.disabled_at)}` : "active"}</dd>
      </dl>
      <form method="post" action={routes.path("adminUserDisable", id)}>
        <fieldset>
          <legend>{user.disabled_at ? "Enable this user" : "Disable this user"}</legend>
          <p class="hint">
            {user.disabled_at
              ? "The user can sign in and be asked to approve CIBA requests again; revoked tokens stay revoked."
              : "The user can no longer sign in or be named in a CIBA request; their sessions end and their tokens are revoked."}
          </p>
          <input type="hidden" name="csrf" value={props.csrf} />
          <input type="hidden" name="disabled" value={user.disabled_at ? "false" : "true"} />
          <div class="actions">
            <button type="submit" class={user.disabled_at ? "secondary" : "danger"}>
              {user.disabled_at ? "Enable user" : "Disable user"}
            </button>
          </div>
        </fieldset>
      </form>
      <h2>Pending CIBA requests</h2>
      {failedNotices(props.pending) > 0 ? (
        <p class="error" role="alert">
          {`${failedNotices(props.pending)} notification(s) of these requests failed: the user was not told, or the client was not sent the result (details in the logs, events ciba_notification_failed and ciba_client_notification_failed).`}
        </p>
      ) : null}
      {props.pending.length === 0 ? (
        <p class="muted">None.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th scope="col">Client</th>
              <th scope="col">Binding message</th>
              <th scope="col">Created</th>
              <th scope="col">User notification</th>
              <th scope="col">Client delivery (ping, push)</th>
            </tr>
          </thead>
          <tbody>
            {props.pending.map((request) => (
              <tr>
                <td>{request.clientName}</td>
                <td>{request.bindingMessage ?? ""}</td>
                <td>{formatTime(request.creationTime)}</td>
                <td>
                  <span class={request.notificationStatus === "failed" ? "badge off" : "badge"}>
                    {`${request.notificationStatus} (${request.notificationAttempts} attempts)`}
                  </span>
                </td>
                <td>
                  {request.clientDeliveryStatus ? (
                    <span class={request.clientDeliveryStatus === "failed" ? "badge off" : "badge"}>
                      {`${request.clientDeliveryStatus} (${request.clientDeliveryAttempts ?? 0} attempts)`}
                    </span>
                  ) : (
                    ""
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form method="post" action={routes.path("adminUserPassword", id)}>
        <fieldset>
          <legend>Reset password</legend>
          <p class="hint">The user's sessions end.</p>
          <input type="hidden" name="csrf" value={props.csrf} />
          <label for="reset-password">New password</label>
          <input type="password" id="reset-password" name="new_password" autocomplete="new-password" />
          <FieldError id="reset-password" message={errorFor(props.error, "password")} />
          <div class="actions">
            <button type="submit" class="secondary">
              Reset password
            </button>
          </div>
        </fieldset>
      </form>
      <form method="post" action={routes.path("adminUserCode", id)}>
        <fieldset>
          <legend>CIBA user_code</legend>
          <input type="hidden" name="csrf" value={props.csrf} />
          <label for="user-code">New user_code</label>
          <input type="password" id="user-code" name="user_code" autocomplete="off" />
          <FieldError id="user-code" message={errorFor(props.error, "user_code")} />
          <div class="actions">
            <button type="submit" name="action" value="set" class="secondary">
              Set user_code
            </button>
            <button type="submit" name="action" value="clear" class="danger">
              Clear user_code
            </button>
          </div>
        </fieldset>
      </form>
    </AdminLayout>
  );
}

/** Pending requests whose user notice or client delivery has failed for good. */
function failedNotices(pending: BackchannelAuthenticationRequest[]): number {
  return pending.filter((r) => r.notificationStatus === "failed" || r.clientDeliveryStatus === "failed").length;
}
