/** The page frame shared by every server-rendered page. */
import type { Child } from "hono/jsx";
import { useRoutes } from "./routes-context";

export interface LayoutProps {
  title: string;
  /** When signed in: shows the user's name and a sign-out button (a CSRF-protected form). */
  signedInAs?: string;
  csrf?: string;
  children?: Child;
}

export function Layout({ title, signedInAs, csrf, children }: LayoutProps) {
  const routes = useRoutes();
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · edge-op`}</title>
        <link rel="stylesheet" href={routes.path("stylesheet")} />
        <link rel="manifest" href={routes.path("webManifest")} />
        <meta name="theme-color" content="#1f6feb" />
      </head>
      <body>
        <header>
          <span class="brand">edge-op</span>
          {signedInAs && csrf ? (
            <form method="post" action={routes.path("signOut")}>
              <input type="hidden" name="csrf" value={csrf} />
              <span class="muted">{signedInAs} </span>
              <button type="submit" class="secondary">
                Sign out
              </button>
            </form>
          ) : null}
        </header>
        <main>{children}</main>
      </body>
    </html>
  );
}

/** A page with a heading and a sentence: expired, answered, not found, errors. */
export function MessagePage(props: {
  title: string;
  message: string;
  signedInAs?: string;
  csrf?: string;
  link?: { href: string; text: string };
}) {
  return (
    <Layout title={props.title} signedInAs={props.signedInAs} csrf={props.csrf}>
      <h1>{props.title}</h1>
      <p role="status">{props.message}</p>
      {props.link ? (
        <p>
          <a href={props.link.href}>{props.link.text}</a>
        </p>
      ) : null}
    </Layout>
  );
}
