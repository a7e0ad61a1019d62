/** The authentication device's pages: the pending list and one request with Approve / Deny. */
import { ACR_PHISHING_RESISTANT } from "../authn/acr";
import type { BackchannelUserLoginRequest } from "../context";
import { Layout } from "./layout";
import { PasskeyScript } from "./passkeys";
import { useRoutes } from "./routes-context";
import { describeScope, isOptionalScope } from "./scopes";

export function timeLeft(expiresAt: number, now = Math.floor(Date.now() / 1000)): string {
  const seconds = Math.max(0, expiresAt - now);
  if (seconds < 60) return `${seconds} s left`;
  return `${Math.floor(seconds / 60)} min ${seconds % 60} s left`;
}

function BindingMessage({ message }: { message?: string }) {
  if (!message) return <p class="muted">The requesting device sent no code to compare.</p>;
  return (
    <>
      <p class="muted">Check that the other device shows exactly:</p>
      <p class="binding" data-testid="binding-message">
        {message}
      </p>
    </>
  );
}

export function PendingListPage(props: { requests: BackchannelUserLoginRequest[]; signedInAs: string; csrf: string }) {
  const routes = useRoutes();
  return (
    <Layout title="Requests waiting for you" signedInAs={props.signedInAs} csrf={props.csrf}>
      <h1>Requests waiting for you</h1>
      {/* Kept current by ./live.ts's script (a WebSocket to the user's object); plain HTML without it. */}
      <div id="pending-list" data-live={routes.path("cibaLive")} aria-live="polite">
        {props.requests.length === 0 ? (
          <p role="status" data-empty>
            Nothing is waiting for your approval.
          </p>
        ) : (
          props.requests.map((r) => (
            <a
              class="card"
              href={routes.path("cibaRequest", { internalId: r.internalId })}
              data-expires-at={String(r.expiresAt)}
            >
              <strong>{r.clientName}</strong>
              <BindingMessage message={r.bindingMessage} />
              <span class="muted">
                Wants: {r.requestedScopes.map(describeScope).join("; ")} ·{" "}
                <span data-time-left>{timeLeft(r.expiresAt)}</span>
              </span>
            </a>
          ))
        )}
      </div>
      <script src={routes.path("liveScript")} />
      <EnableNotifications csrf={props.csrf} />
      <p>
        <a href={routes.path("passkeys")}>Your passkeys</a>
      </p>
    </Layout>
  );
}

/**
 * Web Push on this device (src/ui/pwa.ts): hidden until the script finds the Push API, so the
 * page without JavaScript shows nothing that cannot work.
 */
function EnableNotifications(props: { csrf: string }) {
  const routes = useRoutes();
  return (
    <section>
      <button
        type="button"
        id="enable-notifications"
        class="secondary"
        hidden
        data-vapid-key={routes.path("pushVapidKey")}
        data-subscriptions={routes.path("pushSubscriptions")}
        data-service-worker={routes.path("serviceWorker")}
        data-scope={`${routes.basePath}/`}
        data-csrf={props.csrf}
      >
        Enable notifications
      </button>
      <p id="notifications-status" class="muted" role="status" />
      <script src={routes.path("pushScript")} />
    </section>
  );
}

export function RequestPage(props: {
  request: BackchannelUserLoginRequest;
  /** RFC 9396: each authorization detail as a sentence ("Pay €42.00 to ACME Ltd, IBAN …1234"). */
  details?: string[];
  signedInAs: string;
  csrf: string;
}) {
  const { request } = props;
  const routes = useRoutes();
  // EAP ACR Values §2: a phr request is approved only with a passkey, asked for right here.
  const needsPasskey = request.authenticationContextReferenceClasses.includes(ACR_PHISHING_RESISTANT);
  return (
    <Layout title={`${request.clientName} asks you to sign in`} signedInAs={props.signedInAs} csrf={props.csrf}>
      <h1>{request.clientName} asks you to sign in</h1>
      <BindingMessage message={request.bindingMessage} />
      {props.details && props.details.length > 0 ? (
        <section>
          <p>Approving also approves:</p>
          <ul class="authorization-details">
            {props.details.map((text) => (
              <li>{text}</li>
            ))}
          </ul>
        </section>
      ) : null}
      <p class="muted">{timeLeft(request.expiresAt)}</p>
      <form method="post" action={routes.path("cibaRequest", { internalId: request.internalId })} id="answer-form">
        <input type="hidden" name="csrf" value={props.csrf} />
        <input type="hidden" name="passkey_assertion" value="" />
        <fieldset>
          <legend>It will be able to:</legend>
          <ul class="scopes">
            {request.requestedScopes.map((scope) => (
              <li>
                <label for={`scope-${scope}`}>
                  <input
                    id={`scope-${scope}`}
                    type="checkbox"
                    name={isOptionalScope(scope) ? "scope" : undefined}
                    value={scope}
                    checked
                    disabled={!isOptionalScope(scope)}
                  />
                  <span>{describeScope(scope)}</span>
                </label>
              </li>
            ))}
          </ul>
          <p class="muted">Confirming it is you is always part of an approval.</p>
        </fieldset>
        <label for="description">Note for your records (optional)</label>
        <input id="description" name="description" type="text" maxlength={200} />
        {needsPasskey ? (
          <p class="muted" data-testid="passkey-required">
            This request asks you to confirm with a passkey.
          </p>
        ) : null}
        <div class="actions">
          {needsPasskey ? (
            <button type="button" id="passkey-approve" class="primary" hidden>
              Approve with passkey
            </button>
          ) : (
            <button type="submit" name="action" value="approve" class="primary">
              Approve
            </button>
          )}
          <button type="submit" name="action" value="deny" class="danger">
            Deny
          </button>
        </div>
      </form>
      <p id="passkey-status" class="error" role="status" />
      {needsPasskey ? (
        <PasskeyScript
          csrf={props.csrf}
          stepUp={routes.path("passkeyStepUpOptions", { internalId: request.internalId })}
        />
      ) : null}
    </Layout>
  );
}
