/** The consent page of the authorization-code flow: what the client asks for, Approve / Deny. */
import { Layout } from "./layout";
import { describeScope } from "./scopes";

export function ConsentPage(props: {
  clientName: string;
  scopes: string[];
  /** RFC 9396: each requested authorization detail as a sentence ("Pay €42.00 to ACME Ltd, …"). */
  details?: string[];
  /** Where the form posts: the same /authorize URL, so the request is validated again. */
  action: string;
  csrf: string;
  signedInAs: string;
}) {
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
      <form method="post" action={props.action}>
        <input type="hidden" name="csrf" value={props.csrf} />
        <div class="actions">
          <button type="submit" name="decision" value="approve" class="primary">
            Approve
          </button>
          <button type="submit" name="decision" value="deny" class="danger">
            Deny
          </button>
        </div>
      </form>
    </Layout>
  );
}
