/** The console's styles on top of the user pages' app.css: a wider page, a nav bar, tables. */
export const ADMIN_CSS = `
main.admin { max-width: 72rem; }
nav.admin { display: flex; gap: 4px; flex-wrap: wrap; padding: 8px 16px; border-bottom: 1px solid #8884; }
nav.admin a { padding: 6px 12px; border-radius: 8px; color: inherit; text-decoration: none; }
nav.admin a[aria-current=page] { background: #1f6feb1a; color: var(--accent); font-weight: 600; }
table { width: 100%; border-collapse: collapse; margin: 12px 0; }
th, td { text-align: left; padding: 8px; border-bottom: 1px solid #8883; vertical-align: top; }
th { font-size: .85rem; color: var(--muted); font-weight: 600; }
td code, dd code { word-break: break-all; }
select { padding: 10px; font: inherit; border: 1px solid #8888; border-radius: 8px; background: Field; color: FieldText; }
fieldset { border: 1px solid #8885; border-radius: var(--radius); margin: 16px 0; padding: 8px 16px 16px; }
label.check { display: flex; gap: 8px; align-items: center; font-weight: 400; }
.field-error { color: var(--danger); font-weight: 600; margin: 4px 0; }
.hint { color: var(--muted); font-size: .9rem; margin: 4px 0; }
.secret { font-family: ui-monospace, monospace; padding: 12px; border: 2px solid var(--accent); border-radius: 8px; word-break: break-all; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(16rem, 1fr)); gap: 12px; }
.badge { display: inline-block; padding: 0 8px; border-radius: 999px; font-size: .8rem; border: 1px solid #8888; }
.badge.off { color: var(--danger); border-color: var(--danger); }
dl.props { display: grid; grid-template-columns: minmax(10rem, max-content) 1fr; gap: 4px 16px; }
dl.props dt { font-weight: 600; }
dl.props dd { margin: 0; }
form.inline { display: inline; }
.search { display: flex; gap: 8px; align-items: end; }
.search input { flex: 1; }
`;
