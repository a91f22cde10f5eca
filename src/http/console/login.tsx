// Getting into the console and out of it: the login page and its POST, the logout, and the two
// gates in front of every page (the console's own host and origin, then a session whose CSRF
// token every form must carry). A login with ADMIN_TOKEN starts an HttpOnly, Secure,
// SameSite=Strict session.

import { Hono, type MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { secretsEqual } from "../../core/secrets";
import type { GatewayEnv } from "../context";
import { Problem } from "../problem";
import { readForm } from "./form";
import { Layout } from "./layout";
import { PAGE_HEADERS } from "./page";
import { csrfToken, newSession, SESSION_COOKIE, SESSION_TTL_MS, verifyCsrf, verifySession } from "./session";

function adminToken(c: { get(k: "config"): { ADMIN_TOKEN?: string } }): string {
  const token = c.get("config").ADMIN_TOKEN;
  if (!token) throw new Problem(503, "admin-disabled", "the console is disabled because ADMIN_TOKEN is not set");
  return token;
}

/**
 * Keeps the console on its own host and its forms to its own origin.
 *
 * @example
 * consoleRoutes.use("*", consoleOrigin());
 */
export function consoleOrigin(): MiddlewareHandler<GatewayEnv> {
  // With CONSOLE_ORIGIN set, the console lives on that host only (not on the origin that also
  // serves the upstream's pages), and that is the origin its forms must come from; behind a
  // TLS-terminating proxy it is also what the browser sends, whatever URL reaches the server.
  return async function consoleOriginMiddleware(c, next) {
    const configured = c.get("config").CONSOLE_ORIGIN;
    const here = new URL(c.req.url);
    if (configured && new URL(configured).host !== here.host) {
      throw new Problem(404, "not-found", "the console is served on its own host");
    }
    if (c.req.method === "POST") {
      const origin = c.req.header("origin");
      const expected = configured ? new URL(configured).origin : here.origin;
      // A POST without an Origin header is not refused for that alone: it still needs the
      // session and its CSRF token (the login, the operator token). Browsers send Origin on
      // every cross-origin POST ("null" when they hide it, refused here like any foreign
      // origin), so one without it comes from a script, an old browser, or an extension that
      // strips it. The CSRF token, which only the console's own pages can read, stops a forged
      // form from any of those; requiring Origin (or Referer) would add no protection and
      // would lock such browsers out.
      if (origin && origin !== expected) {
        throw new Problem(403, "forbidden-origin", "the console accepts forms from its own pages only");
      }
    }
    await next();
  };
}

/**
 * Sends a request without a current session to the login page, sets `sessionExpiry` and
 * `csrf` for the pages, and refuses a POST whose form lacks the session's CSRF token.
 *
 * @example
 * consoleRoutes.use("*", consoleSession());
 */
export function consoleSession(): MiddlewareHandler<GatewayEnv> {
  return async function consoleSessionMiddleware(c, next) {
    const expiry = await verifySession(adminToken(c), getCookie(c, SESSION_COOKIE), Date.now());
    if (expiry === null) return c.redirect("/admin/ui/login", 302);
    c.set("sessionExpiry", expiry);
    c.set("csrf", await csrfToken(adminToken(c), expiry));
    if (c.req.method === "POST") {
      const form = await readForm(c);
      if (!(await verifyCsrf(adminToken(c), expiry, form.csrf))) {
        throw new Problem(
          403,
          "csrf-failed",
          "the form's CSRF token is missing or wrong; reload the page and try again",
        );
      }
    }
    await next();
  };
}

function loginPage(error?: string) {
  return (
    <Layout title="Log in">
      {error ? <p class="error">{error}</p> : null}
      <form method="post" action="/admin/ui/login" class="stack">
        <label>
          Operator token <input type="password" name="token" autocomplete="current-password" required />
        </label>
        <button type="submit">Log in</button>
      </form>
    </Layout>
  );
}

/** The login page and its form's POST: mounted before `consoleSession()`, which they stand in front of. */
export const loginRoutes = new Hono<GatewayEnv>();

loginRoutes.get("/login", (c) => c.html(loginPage(), 200, PAGE_HEADERS));

loginRoutes.post("/login", async (c) => {
  const form = await readForm(c);
  const presented = typeof form.token === "string" ? form.token : "";
  if (!presented || !(await secretsEqual(presented, adminToken(c)))) {
    return c.html(loginPage("That is not the operator token."), 401, PAGE_HEADERS);
  }
  setCookie(c, SESSION_COOKIE, await newSession(adminToken(c), Date.now()), {
    httpOnly: true,
    secure: true,
    sameSite: "Strict",
    path: "/admin/ui",
    maxAge: SESSION_TTL_MS / 1000,
  });
  return c.redirect("/admin/ui", 303);
});

/** The logout: mounted behind `consoleSession()`, so a forged form cannot end a session. */
export const logoutRoutes = new Hono<GatewayEnv>();

logoutRoutes.post("/logout", (c) => {
  deleteCookie(c, SESSION_COOKIE, { path: "/admin/ui", secure: true });
  return c.redirect("/admin/ui/login", 303);
});
