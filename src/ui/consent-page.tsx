/**
 * The consent page of the authorization-code flow: what the client asks for, Approve / Deny.
 * For a request that asks for phishing-resistant authentication (`phr`, EAP ACR Values §2) the
 * approval is a passkey step-up (the CIBA request page's, ./passkeys.tsx), or, for a user with
 * no passkey, an explanation and a way back to the client.
 */
import { Layout } from "./layout";
import { PasskeyScript } from "./passkeys";
import { useRoutes } from "./routes-context";
import { describeScope } from "./scopes";

/** A phr request: where the page gets step-up options, or that the user has no passkey to use. */
export type ConsentStepUp = { options: string } | { noPasskey: true };

export function ConsentPage(props: {
  clientName: string;
  scopes: string[];
  /** RFC 9396: each requested authorization detail as a sentence ("Pay €42.00 to ACME Ltd, …"). */
  details?: string[];
  /** Where the form posts: the same /authorize URL, so the request is validated again. */
  action: string;
  csrf: string;
  signedInAs: string;
  stepUp?: ConsentStepUp;
}) {
  const routes = useRoutes();
  const { stepUp } = props;
  return (
    <Layout title={`${props.clientName} asks for access`} signedInAs={props.signedInAs} csrf={props.csrf}>
      <h1>{props.clientName} asks for access</h1>
      <p>If you approve, it will be able to:</p>
      <ul class="scopes">
        {props.scopes.map((scope) => (
          <li>{describeScope(scope)}</li>
        ))}
      </ul>
      {props.details && props.details.length > 0 ? (
        <>
          <p>And it asks you to approve:</p>
          <ul class="authorization-details">
            {props.details.map((text) => (
              <li>{text}</li>
            ))}
          </ul>
        </>
      ) : null}
      {stepUp && "noPasskey" in stepUp ? (
        <>
          <p role="status" data-testid="passkey-missing">
            {props.clientName} asks you to confirm with a passkey, and your account has no passkey yet.{" "}
            <a href={routes.path("passkeys")}>Add a passkey</a>, then start again from {props.clientName}.
          </p>
          <form method="post" action={props.action}>
            <input type="hidden" name="csrf" value={props.csrf} />
            <div class="actions">
              <button type="submit" name="decision" value="unmet" class="secondary">
                Back to {props.clientName}
              </button>
            </div>
          </form>
        </>
      ) : (
        // method and action first (test and example page drivers find the form by them).
        <form method="post" action={props.action} id="answer-form">
          <input type="hidden" name="csrf" value={props.csrf} />
          {stepUp ? (
            <>
              <input type="hidden" name="passkey_assertion" value="" />
              <p class="muted" data-testid="passkey-required">
                {props.clientName} asks you to confirm with your passkey.
              </p>
            </>
          ) : null}
          <div class="actions">
            {stepUp ? (
              <button type="button" id="passkey-approve" class="primary" hidden>
                Approve with passkey
              </button>
            ) : (
              <button type="submit" name="decision" value="approve" class="primary">
                Approve
              </button>
            )}
            <button type="submit" name="decision" value="deny" class="danger">
              Deny
            </button>
          </div>
        </form>
      )}
      {stepUp && "options" in stepUp ? (
        <>
          <p id="passkey-status" class="error" role="status" />
          <PasskeyScript csrf={props.csrf} stepUp={stepUp.options} approveField="decision" />
        </>
      ) : null}
    </Layout>
  );
}
