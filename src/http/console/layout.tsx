// The console's page frame: the header with its navigation, the one-time notice after an
// action, and the served style sheet and script (assets.ts).

import type { Context } from "hono";
import { raw } from "hono/html";
import type { Child } from "hono/jsx";
import type { GatewayEnv } from "../context";
import { SCRIPT_PATH, STYLE_PATH } from "./assets";

const NAV = [
  ["/admin/ui", "Tenants"],
  ["/admin/ui/fleet", "Fleet"],
  ["/admin/ui/prices", "Prices"],
  ["/admin/ui/invoices", "Unpaid invoices"],
  ["/admin/ui/deliveries", "Webhooks"],
] as const;

export interface FrameProps {
  /** The session's CSRF token; without one (the login page) there is no navigation. */
  csrf?: string;
  /** The one-time notice after an action. */
  notice?: string;
  /** The page's path, so its navigation link is marked current. */
  path?: string;
}

/** What every signed-in page's Layout takes from the request. */
export const frame = (c: Context<GatewayEnv>): FrameProps => ({
  csrf: c.get("csrf"),
  notice: c.get("notice"),
  path: new URL(c.req.url).pathname,
});

/** Which navigation link the path is under: a tenant's page is under Tenants. */
const currentOf = (path: string | undefined) =>
  path === undefined
    ? undefined
    : (NAV.find(([href]) => href !== "/admin/ui" && path.startsWith(href))?.[0] ?? "/admin/ui");

export function Layout(props: FrameProps & { title: string; children?: Child }) {
  const current = currentOf(props.path);
  // The doctype keeps the browser in standards mode: without it, quirks mode lays the page out
  // differently (and reports its width from <body> rather than <html>).
  return (
    <>
      {raw("<!DOCTYPE html>")}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <title>{`${props.title} · Aegis Edge console`}</title>
          <link rel="stylesheet" href={STYLE_PATH} />
          <script src={SCRIPT_PATH} defer />
        </head>
        <body>
          <a class="skip" href="#content">
            Skip to content
          </a>
          <header class="top">
            <span class="brand">Aegis Edge</span>
            {props.csrf ? (
              <nav aria-label="Console">
                {NAV.map(([href, label]) => (
                  <a href={href} aria-current={href === current ? "page" : undefined}>
                    {label}
                  </a>
                ))}
                <form method="post" action="/admin/ui/logout" class="inline">
                  <input type="hidden" name="csrf" value={props.csrf} />
                  <button type="submit">Log out</button>
                </form>
              </nav>
            ) : null}
          </header>
          <main id="content">
            <h1>{props.title}</h1>
            {props.notice ? (
              <p class="flash" role="status" id="notice">
                {props.notice}
              </p>
            ) : null}
            {props.children}
          </main>
        </body>
      </html>
    </>
  );
}
