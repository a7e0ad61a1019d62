/**
 * The one stylesheet, served from /assets/app.css so the Content-Security-Policy can forbid
 * inline styles and scripts. Mobile first; no JavaScript anywhere.
 */
export const APP_CSS = `
:root { color-scheme: light dark; --accent: #1f6feb; --danger: #b42318; --muted: #667085; --radius: 12px; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: Canvas; color: CanvasText; }
header { display: flex; align-items: center; justify-content: space-between; padding: 12px 16px; border-bottom: 1px solid #8884; }
header .brand { font-weight: 600; }
header form { margin: 0; }
main { max-width: 32rem; margin: 0 auto; padding: 16px; }
h1 { font-size: 1.4rem; margin: 8px 0 16px; }
label { display: block; font-weight: 600; margin: 12px 0 4px; }
input[type=text], input[type=password], textarea { width: 100%; padding: 12px; font: inherit; border: 1px solid #8888; border-radius: 8px; background: Field; color: FieldText; }
button, .button { display: inline-block; min-height: 44px; padding: 10px 20px; font: inherit; font-weight: 600; border-radius: 8px; border: 1px solid transparent; cursor: pointer; text-decoration: none; }
.primary { background: var(--accent); color: #fff; }
.secondary { background: transparent; color: CanvasText; border-color: #8888; }
.danger { background: transparent; color: var(--danger); border-color: var(--danger); }
.actions { display: flex; gap: 12px; margin-top: 20px; flex-wrap: wrap; }
.actions button { flex: 1 1 8rem; }
.card { display: block; padding: 16px; border: 1px solid #8886; border-radius: var(--radius); margin: 12px 0; color: inherit; text-decoration: none; }
a.card:hover, a.card:focus { border-color: var(--accent); }
.binding { font-size: 1.5rem; font-weight: 700; letter-spacing: .02em; padding: 12px 16px; border-radius: 8px; background: #1f6feb1a; border: 2px solid var(--accent); margin: 8px 0; word-break: break-word; }
.muted { color: var(--muted); }
.error { color: var(--danger); font-weight: 600; }
ul.scopes { list-style: none; padding: 0; }
ul.scopes li { padding: 8px 0; border-bottom: 1px solid #8883; }
ul.scopes label { display: flex; gap: 12px; align-items: flex-start; font-weight: 400; margin: 0; }
ul.scopes input { width: 22px; height: 22px; margin-top: 2px; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
`;
