// Feedback after an action: a form that worked redirects (303) with a one-time notice in a
// short-lived cookie, and the next page shows it once (role="status") and drops the cookie.
// The cookie holds a code from the table below, never text: a forged cookie can only pick one
// of these messages.

import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { GatewayEnv } from "../context";

const FLASH_COOKIE = "aegis_flash";

const NOTICES = {
  "tenant-created": "Tenant created.",
  suspended: "Tenant suspended: its calls are refused until it is activated.",
  activated: "Tenant activated: its calls are admitted again.",
  "quota-saved": "Quota saved: it applies from the next call.",
  "route-saved": "Route limits saved: they apply from the next call.",
  "route-removed": "Route limits removed: the route uses the tenant's limits.",
  "override-set": "Override set.",
  "override-ended": "Override ended: the quota applies again.",
  "key-limits-saved": "Key limits saved.",
  "key-limits-cleared": "Key limits cleared.",
  "key-revoked": "Key revoked: calls with it are refused.",
  "price-added": "Price added.",
  "price-removed": "Price removed.",
  "payment-method-saved": "Payment method saved.",
  "invoice-paid": "Invoice marked paid.",
  redelivered: "Delivery queued to be sent again.",
} as const;

export type NoticeCode = keyof typeof NOTICES;

/** Redirects to `location` (303, as after a form) with the notice for the next page. */
export function doneRedirect(c: Context<GatewayEnv>, code: NoticeCode, location: string): Response {
  setCookie(c, FLASH_COOKIE, code, { httpOnly: true, secure: true, sameSite: "Strict", path: "/admin/ui", maxAge: 60 });
  return c.redirect(location, 303);
}

/**
 * Takes a GET's notice out of its cookie into `notice`, for the page's layout.
 *
 * @example
 * consoleRoutes.use("*", consoleNotice());
 */
export function consoleNotice(): MiddlewareHandler<GatewayEnv> {
  return async function consoleNoticeMiddleware(c, next) {
    const code = c.req.method === "GET" ? getCookie(c, FLASH_COOKIE) : undefined;
    if (code !== undefined) {
      deleteCookie(c, FLASH_COOKIE, { path: "/admin/ui", secure: true });
      if (Object.hasOwn(NOTICES, code)) c.set("notice", NOTICES[code as NoticeCode]);
    }
    await next();
  };
}
