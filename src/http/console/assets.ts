// The console's two static files, served by the gateway itself (no CDN, no build step): the
// style sheet and the small script that shows numbers, money and dates in the browser's
// locale. Each is served at a path carrying a hash of its content, so it can be cached for a
// year and a new version is a new URL; the page's CSP allows only these ('self').

import { Hono } from "hono";
import type { GatewayEnv } from "../context";
import { CONSOLE_CSS } from "./style";

/**
 * Runs after the page is parsed (defer). The server renders every value in a form that needs
 * no script (ISO dates, "1,234", "12.34 USD"); this only re-renders them for the reader's
 * locale. Amounts and decimals stay exact: Intl.NumberFormat formats a decimal string as the decimal it is
 * (no float), with the currency's ISO minor digits (data-digits) rather than Intl's own.
 */
export const CONSOLE_JS = `"use strict";
(function () {
  // "long" names the zone ("12:30:05 PM PST"): a time without its zone is ambiguous.
  var when = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "long" });
  var day = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeZone: "UTC" });
  document.querySelectorAll("time[datetime]").forEach(function (t) {
    var iso = t.getAttribute("datetime");
    var ms = Date.parse(iso);
    if (isNaN(ms)) return;
    t.textContent = /^\\d{4}-\\d\\d-\\d\\d$/.test(iso) ? day.format(ms) : when.format(ms);
  });
  var count = new Intl.NumberFormat();
  document.querySelectorAll("data.count[value]").forEach(function (n) {
    if (/^-?\\d+$/.test(n.value)) n.textContent = count.format(n.value);
  });
  document.querySelectorAll("data.decimal[value]").forEach(function (d) {
    var exact = /^-?\\d+(?:\\.(\\d{1,20}))?$/.exec(d.value);
    // As many fraction digits as the value has: formatted from the string, nothing rounds.
    if (exact) d.textContent = new Intl.NumberFormat(undefined, {
      maximumFractionDigits: exact[1] ? exact[1].length : 0,
    }).format(d.value);
  });
  document.querySelectorAll("data.money[value]").forEach(function (m) {
    var digits = Number(m.getAttribute("data-digits"));
    if (!/^-?\\d+(\\.\\d+)?$/.test(m.value)) return;
    try {
      m.textContent = new Intl.NumberFormat(undefined, {
        style: "currency",
        currency: m.getAttribute("data-currency"),
        minimumFractionDigits: digits,
        maximumFractionDigits: digits,
      }).format(m.value);
    } catch (e) {
      // A currency this browser does not know keeps the server's "12.34 XYZ".
    }
  });
})();
`;

/** FNV-1a, 32 bits: a cache-busting tag (not a security check), computable synchronously in any runtime. */
function contentTag(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

/** Where the pages link them: the content's tag in the name, so a cached copy is never stale. */
export const STYLE_PATH = `/admin/ui/assets/console-${contentTag(CONSOLE_CSS)}.css`;
export const SCRIPT_PATH = `/admin/ui/assets/console-${contentTag(CONSOLE_JS)}.js`;

const IMMUTABLE = {
  "cache-control": "public, max-age=31536000, immutable",
  "x-content-type-options": "nosniff",
};

/** The two files, mounted before the session check: the login page uses them too. */
export const assetRoutes = new Hono<GatewayEnv>();

assetRoutes.get(STYLE_PATH.slice("/admin/ui".length), (c) =>
  c.body(CONSOLE_CSS, 200, { ...IMMUTABLE, "content-type": "text/css; charset=utf-8" }),
);
assetRoutes.get(SCRIPT_PATH.slice("/admin/ui".length), (c) =>
  c.body(CONSOLE_JS, 200, { ...IMMUTABLE, "content-type": "text/javascript; charset=utf-8" }),
);
