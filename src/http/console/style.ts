// The console's one style sheet. Colours are chosen for WCAG AA contrast (4.5:1 for text);
// below 720 px wide the header wraps, forms stack full width and a table scrolls inside its
// own wrapper, so no page is wider than a 375 px phone.

export const CONSOLE_CSS = `
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1b1f24; background: #f6f8fa; }
a { color: #0b5cad; }
a:hover { text-decoration-thickness: 2px; }
:focus-visible { outline: 3px solid #0969da; outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: #fff; color: #0b5cad; padding: .5rem 1rem; z-index: 2; }
.skip:focus { left: .5rem; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }

header.top { display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: center; padding: .6rem 1.5rem; background: #0f2a44; color: #fff; }
header.top .brand { font-weight: 700; font-size: 17px; letter-spacing: .01em; }
header.top nav { display: flex; flex-wrap: wrap; gap: .25rem 1rem; align-items: center; flex: 1; }
header.top nav a { color: #e6f1ff; text-decoration: none; padding: .2rem 0; border-bottom: 2px solid transparent; }
header.top nav a:hover, header.top nav a[aria-current="page"] { border-bottom-color: #7cc0ff; color: #fff; }
header.top nav form { margin-left: auto; }
header.top :focus-visible { outline-color: #7cc0ff; }

main { padding: 1rem 1.5rem 3rem; max-width: 1180px; margin: 0 auto; }
h1 { font-size: 26px; margin: .5rem 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 19px; margin: 2rem 0 .6rem; padding-bottom: .25rem; border-bottom: 1px solid #d0d7de; }
h3 { font-size: 16px; margin: 1.25rem 0 .5rem; }
code { font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; background: #eaeef2; padding: .05rem .3rem; border-radius: 4px; overflow-wrap: anywhere; }
p { max-width: 80ch; }

.table-wrap { position: relative; overflow-x: auto; max-width: 100%; background: #fff; border: 1px solid #d0d7de; border-radius: 6px; margin: .5rem 0 1rem; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid #e4e8ee; vertical-align: top; }
th { background: #eef2f6; font-size: 13px; font-weight: 600; color: #1b1f24; white-space: nowrap; }
tbody tr:nth-child(even) { background: #f6f8fa; }
tbody tr:last-child td { border-bottom: 0; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.table-wrap .table-wrap { margin: .5rem 0; }
tr.over td.use, tr.warn td.use { font-weight: 700; }
tr.warn td.use { color: #7d4e00; }
tr.over td.use { color: #a40e26; }
tr.fixed td { color: #57606a; }
meter { width: 8rem; vertical-align: middle; }

.badge { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: 13px; background: #e4e8ee; color: #1b1f24; }
.badge.active { background: #dafbe1; color: #116329; }
.badge.suspended { background: #ffebe9; color: #a40e26; }
.badge.adjustment { background: #fff8c5; color: #4d2d00; }

button, input, select { font: inherit; }
input, select { padding: .35rem .5rem; border: 1px solid #8c959f; border-radius: 6px; background: #fff; color: #1b1f24; min-height: 2.25rem; max-width: 100%; }
input[type="checkbox"] { min-height: 0; width: 1.1rem; height: 1.1rem; vertical-align: middle; }
input[type="number"] { width: 10rem; }
button { cursor: pointer; white-space: nowrap; padding: .4rem .9rem; border-radius: 6px; border: 1px solid #0b5cad; background: #0b5cad; color: #fff; font-weight: 600; min-height: 2.25rem; }
button:hover { background: #094a8c; }
button.secondary, form.inline button { background: #fff; color: #0b5cad; }
button.secondary:hover, form.inline button:hover { background: #eef5ff; }
button.danger, form.inline button.danger, form.revoke button, form.remove-price button { border-color: #a40e26; color: #a40e26; background: #fff; }
button.danger:hover, form.inline button.danger:hover, form.revoke button:hover, form.remove-price button:hover { background: #ffebe9; }

form.stack { display: grid; gap: .6rem; max-width: 40rem; margin: .5rem 0 1rem; }
form.stack label, fieldset label { display: grid; grid-template-columns: minmax(10rem, 16rem) minmax(0, 1fr); gap: .25rem .75rem; align-items: center; }
form.stack label.check { display: flex; gap: .5rem; }
form.stack button { justify-self: start; }
form.inline { display: inline; }
form.row { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; margin: .5rem 0 1rem; }
form.row label { display: grid; gap: .2rem; }
fieldset { border: 1px solid #d0d7de; border-radius: 6px; margin: 0; padding: .5rem .9rem .75rem; display: grid; gap: .5rem; background: #fff; }
legend { font-weight: 600; padding: 0 .25rem; }
details > summary { cursor: pointer; color: #0b5cad; }
.hint { color: #57606a; font-size: 13px; }

.flash, .notice, .error { padding: .7rem .9rem; border-radius: 6px; border: 1px solid; max-width: 80ch; }
.flash { background: #dafbe1; border-color: #4ac26b; color: #0f3d1c; }
.notice { background: #fff8c5; border-color: #d4a72c; color: #3b2300; }
.error { background: #ffebe9; border-color: #ff8182; color: #6e011a; }
ul.error { padding-left: 2rem; }
code.secret { display: block; font-size: 14px; background: #fff; padding: .4rem .6rem; user-select: all; word-break: break-all; }

.chart-box { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; }
svg.chart { width: 100%; max-width: 760px; height: auto; background: #fff; border: 1px solid #d0d7de; border-radius: 6px; }
svg .axis { stroke: #8c959f; } svg .grid { stroke: #e4e8ee; }
svg .quota { stroke: #a40e26; stroke-dasharray: 6 4; stroke-width: 1.5; }
svg .usage { stroke: #0969da; stroke-width: 2; } svg .point { fill: #0969da; }
svg .hit { fill: transparent; } svg .hit:hover + .point, svg .point:hover { fill: #a40e26; }
svg .label { font-size: 12px; fill: #57606a; } svg .quota-label { font-size: 12px; fill: #a40e26; }
svg .refused { stroke: #cf222e; stroke-width: 2; } svg .stored { stroke: #8250df; stroke-width: 2; stroke-dasharray: 3 3; }
svg .key-usage { fill: #0969da; } svg .key-refused { fill: #cf222e; } svg .key-stored { fill: #8250df; }

@media (max-width: 720px) {
  header.top { padding: .5rem 1rem; }
  header.top nav { flex: 1 1 100%; }
  header.top nav form { margin-left: auto; }
  main { padding: .75rem 1rem 2rem; }
  h1 { font-size: 22px; }
  form.stack label, fieldset label { grid-template-columns: 1fr; }
  input:not([type="checkbox"]), select, input[type="number"] { width: 100%; }
  form.row { display: grid; }
}
`;
