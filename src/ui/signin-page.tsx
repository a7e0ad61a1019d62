/** The sign-in page: Username, Password, Sign in (without JavaScript), or a passkey (with it). */
import { Layout } from "./layout";
import { PasskeyScript } from "./passkeys";
import { useRoutes } from "./routes-context";

export function SignInPage(props: { csrf: string; returnTo: string; error?: string; username?: string }) {
  const routes = useRoutes();
  return (
    <Layout title="Sign in">
      <h1>Sign in</h1>
      {props.error ? (
        <p class="error" role="alert">
          {props.error}
        </p>
      ) : null}
      <form method="post" action={routes.path("signIn")}>
        <input type="hidden" name="csrf" value={props.csrf} />
        <input type="hidden" name="return_to" value={props.returnTo} />
        <label for="username">Username</label>
        <input
          id="username"
          name="username"
          type="text"
          autocomplete="username"
          required
          value={props.username ?? ""}
        />
        <label for="password">Password</label>
        <input id="password" name="password" type="password" autocomplete="current-password" required />
        <div class="actions">
          <button type="submit" class="primary">
            Sign in
          </button>
        </div>
      </form>
      <div class="actions">
        <button type="button" class="secondary" id="passkey-sign-in" hidden>
          Sign in with a passkey
        </button>
      </div>
      <p id="passkey-status" class="error" role="status" />
      <PasskeyScript csrf={props.csrf} returnTo={props.returnTo} />
    </Layout>
  );
}
