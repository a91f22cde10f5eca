// The console's page frame: navigation, and the style sheet served by the gateway.

import type { Child } from "hono/jsx";

export function Layout(props: { title: string; children?: Child; csrf?: string }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${props.title} · Aegis Edge console`}</title>
        <link rel="stylesheet" href="/admin/ui/app.css" />
      </head>
      <body>
        <header>
          <strong>Aegis Edge</strong>
          {props.csrf ? (
            <nav>
              <a href="/admin/ui">Tenants</a>
              <a href="/admin/ui/fleet">Fleet</a>
              <a href="/admin/ui/prices">Prices</a>
              <a href="/admin/ui/invoices">Unpaid invoices</a>
              <a href="/admin/ui/deliveries">Webhooks</a>
              <form method="post" action="/admin/ui/logout" class="inline">
                <input type="hidden" name="csrf" value={props.csrf} />
                <button type="submit">Log out</button>
              </form>
            </nav>
          ) : null}
        </header>
        <main>
          <h1>{props.title}</h1>
          {props.children}
        </main>
      </body>
    </html>
  );
}

export const CONSOLE_CSS = `
body { font: 15px/1.5 system-ui, sans-serif; margin: 0; color: #1b1f24; }
header { display: flex; gap: 1.5rem; align-items: center; padding: .75rem 1.5rem; background: #0f2a44; color: #fff; }
header nav { display: flex; gap: 1rem; align-items: center; }
header a { color: #cfe6ff; }
main { padding: 1rem 1.5rem; max-width: 1100px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid #e4e8ee; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
meter { width: 10rem; }
tr.over td.use, tr.warn td.use { font-weight: 700; }
.badge { padding: 0 .4rem; border-radius: 3px; font-size: 13px; background: #e4e8ee; }
.badge.suspended { background: #ffebe9; color: #cf222e; }
.badge.adjustment { background: #fff8c5; }
tr.fixed td { color: #57606a; }
ul.error { padding-left: 2rem; }
form.inline { display: inline; }
form.stack label { display: block; margin: .3rem 0; }
fieldset { border: 1px solid #e4e8ee; border-radius: 4px; margin: .5rem 0; max-width: 40rem; }
.hint { color: #57606a; font-size: 13px; }
td details summary { cursor: pointer; color: #0969da; }
.notice { background: #fff8c5; padding: .75rem; border-radius: 4px; }
.error { background: #ffebe9; padding: .75rem; border-radius: 4px; }
code.secret { font-size: 15px; background: #f6f8fa; padding: .25rem .5rem; user-select: all; }
svg.chart { width: 100%; max-width: 720px; height: auto; border: 1px solid #e4e8ee; margin-bottom: .75rem; }
svg .axis { stroke: #8c959f; } svg .quota { stroke: #cf222e; stroke-dasharray: 4 4; }
svg .usage { stroke: #0969da; stroke-width: 2; } svg .point { fill: #0969da; } svg .label { font-size: 11px; fill: #57606a; }
svg .refused { stroke: #cf222e; stroke-width: 2; } svg .stored { stroke: #8250df; stroke-width: 2; stroke-dasharray: 3 3; }
svg .key-usage { fill: #0969da; } svg .key-refused { fill: #cf222e; } svg .key-stored { fill: #8250df; }
`;
