/**
 * The console's signing key pages: the list (each key's state, what /jwks serves now, the add
 * form) and one key's page with the retire form, which says what /jwks will do.
 */
import type { KeyOverview, KeyState, RetireEffect, SigningKeyView } from "../../admin/keys";
import { STORED_KEY_ALGS } from "../../tokens/key-store";
import { useRoutes } from "../routes-context";
import { type AdminFrame, AdminLayout, FieldError, formatTime, ReauthField } from "./layout";

type Frame = Omit<AdminFrame, "section">;
type FieldProblem = { field: string; message: string };
const errorFor = (error: FieldProblem | undefined, field: string) =>
  error?.field === field ? error.message : undefined;

function stateText(key: SigningKeyView): string {
  const at = (seconds: number | null) => (seconds === null ? "" : formatTime(seconds));
  const texts: Record<KeyState, string> = {
    "secret-signing": "from the secret; signs new tokens",
    secret: "from the secret; published only (verifies older tokens)",
    pending: `published; signs from ${at(key.signs_from)}`,
    signing: "signs new tokens",
    superseded: "published; a newer key signs (retire it when you are ready)",
    retired: `retired; in /jwks until ${at(key.remove_after)}`,
    removed: "retired; no longer in /jwks",
  };
  return texts[key.state];
}

const kidList = (kids: string[]) => (kids.length === 0 ? "none" : kids.join(", "));

export function KeysPage(props: Frame & { overview: KeyOverview; notice?: string; error?: FieldProblem }) {
  const routes = useRoutes();
  const { overview } = props;
  return (
    <AdminLayout {...props} section="adminKeys" title="Signing keys">
      <h1>Signing keys</h1>
      {props.notice ? <p role="status">{props.notice}</p> : null}
      <p>
        Signing now: <code id="signing-kid">{overview.signing_kid ?? "none"}</code>. /jwks serves now:{" "}
        <code id="jwks-kids">{kidList(overview.jwks_kids)}</code>.
      </p>
      <table>
        <thead>
          <tr>
            <th scope="col">kid</th>
            <th scope="col">alg</th>
            <th scope="col">State</th>
            <th scope="col">Published at /jwks</th>
          </tr>
        </thead>
        <tbody>
          {overview.keys.map((key) => (
            <tr>
              <td>
                {key.source === "console" ? (
                  <a href={routes.path("adminKey", { kid: key.kid })}>
                    <code>{key.kid}</code>
                  </a>
                ) : (
                  <code>{key.kid}</code>
                )}
              </td>
              <td>{key.alg}</td>
              <td>{stateText(key)}</td>
              <td>
                <code>{JSON.stringify(key.public_jwk)}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form method="post" action={routes.path("adminKeys")}>
        <fieldset>
          <legend>Add a key</legend>
          <p class="hint">
            The key pair is made here; its private key is stored only encrypted with DATA_ENCRYPTION_KEY. /jwks lists it
            at once; it signs new tokens about 6 minutes later (the 300 s max-age of /jwks plus the key cache of other
            Worker isolates), so relying parties that cached /jwks see it before any token carries it. PS256 keys are
            RSA: making one takes longer.
          </p>
          <input type="hidden" name="csrf" value={props.csrf} />
          <label for="key-alg">alg</label>
          <select id="key-alg" name="alg">
            {STORED_KEY_ALGS.map((alg) => (
              <option value={alg}>{alg}</option>
            ))}
          </select>
          <FieldError id="key-alg" message={errorFor(props.error, "alg")} />
          <div class="actions">
            <button type="submit">Add key</button>
          </div>
        </fieldset>
      </form>
      <h2>Keys of the SIGNING_KEYS secret</h2>
      <p>
        They are read-only here. The secret's first key signs while no console key does; to rotate them, change the
        secret (<code>npm run -s admin -- keys generate --alg ES256</code>, then{" "}
        <code>npx wrangler secret put SIGNING_KEYS</code>): append the next key (/jwks lists both), wait at least the
        300 s max-age of /jwks, move it to the front (it signs), and remove the old key once every token it signed has
        expired (docs/configuration.md, SIGNING_KEYS).
      </p>
    </AdminLayout>
  );
}

export function KeyPage(
  props: Frame & { signingKey: SigningKeyView; effect: RetireEffect; notice?: string; error?: FieldProblem },
) {
  const routes = useRoutes();
  const { signingKey: key, effect } = props;
  return (
    <AdminLayout adminName={props.adminName} csrf={props.csrf} section="adminKeys" title={`Signing key ${key.kid}`}>
      <h1>
        Signing key <code>{key.kid}</code>
      </h1>
      {props.notice ? <p role="status">{props.notice}</p> : null}
      <dl>
        <dt>alg</dt>
        <dd>{key.alg}</dd>
        <dt>State</dt>
        <dd>{stateText(key)}</dd>
        <dt>Public JWK</dt>
        <dd>
          <code>{JSON.stringify(key.public_jwk)}</code>
        </dd>
      </dl>
      {key.state === "retired" || key.state === "removed" ? null : (
        <form method="post" action={routes.path("adminKeyRetire", { kid: key.kid })}>
          <fieldset>
            <legend>Retire</legend>
            <p class="hint" id="retire-effect">
              The key stops signing at once (in other Worker isolates within their key cache's lifetime); new tokens are
              signed by <code>{effect.signing_kid_after ?? "no key"}</code>. The JWKS will keep listing{" "}
              <code>{key.kid}</code> until {formatTime(effect.remove_after)} (if retired now), so tokens it signed still
              verify until they expire; after that /jwks serves <code>{kidList(effect.jwks_kids_after_removal)}</code>.
            </p>
            {effect.refused ? (
              <p class="error" role="alert">
                This key cannot be retired: {effect.refused}.
              </p>
            ) : null}
            {props.error && props.error.field !== "password" ? (
              <p class="error" role="alert">
                {props.error.message}
              </p>
            ) : null}
            <input type="hidden" name="csrf" value={props.csrf} />
            <ReauthField error={errorFor(props.error, "password")} />
            <div class="actions">
              <button type="submit" class="danger" disabled={effect.refused !== undefined}>
                Retire key
              </button>
            </div>
          </fieldset>
        </form>
      )}
      <p>
        <a href={routes.path("adminKeys")}>All signing keys</a>
      </p>
    </AdminLayout>
  );
}
