// The operator console's pages and defences, through the real Worker: login, the session
// cookie's attributes and expiry, logout, CSRF, foreign origins and forms without an Origin,
// and what the pages show.

import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { csrfToken, newSession, SESSION_COOKIE, SESSION_TTL_MS } from "../../src/http/console/session";
import { login, page, postForm, UI } from "../support/workers/console";
import { ADMIN_TOKEN, adminJson, BASE, call, eventually, newTenant } from "../support/workers/helpers";

const burstOf = async (tenantId: string) =>
  (await adminJson<{ quota: { burst: number } }>(`/tenants/${tenantId}`)).quota.burst;

const problemCode = async (res: Response) => ((await res.json()) as { code: string }).code;

/** A Set-Cookie header: its name, value, and attributes by lower-case name ("" for a flag). */
function parseSetCookie(header: string): { name: string; value: string; attrs: Record<string, string> } {
  const [pair = "", ...rest] = header.split(";").map((p) => p.trim());
  const attrs: Record<string, string> = {};
  for (const a of rest) {
    const i = a.indexOf("=");
    attrs[(i < 0 ? a : a.slice(0, i)).toLowerCase()] = i < 0 ? "" : a.slice(i + 1);
  }
  const i = pair.indexOf("=");
  return { name: pair.slice(0, i), value: pair.slice(i + 1), attrs };
}

describe("operator console", () => {
  it("sends every page to the login without a session, and logs in with the operator token only", async () => {
    for (const path of ["", "/", "/invoices", "/deliveries", "/tenants/tnaaaaaaaaaaaaaaaa"]) {
      const res = await SELF.fetch(`${UI}${path}`, { redirect: "manual" });
      expect(res.status, path).toBe(302);
      expect(res.headers.get("location")).toBe("/admin/ui/login");
    }
    const forged = await SELF.fetch(UI, {
      headers: { cookie: "aegis_session=9999999999999.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" },
      redirect: "manual",
    });
    expect(forged.status).toBe(302);

    const wrong = await SELF.fetch(`${UI}/login`, {
      method: "POST",
      body: new URLSearchParams({ token: "nope" }),
      redirect: "manual",
    });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get("set-cookie")).toBeNull();

    const res = await SELF.fetch(`${UI}/login`, {
      method: "POST",
      body: new URLSearchParams({ token: ADMIN_TOKEN }),
      redirect: "manual",
    });
    const before = Date.now();
    const cookie = res.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^aegis_session=\d+\.[A-Za-z0-9_-]{43};/);
    // A session lasts 8 hours: in the cookie, and in the signed expiry it carries.
    expect(cookie).toContain("Max-Age=28800");
    const expiry = Number(/^aegis_session=(\d+)\./.exec(cookie)?.[1]);
    expect(expiry - before).toBeGreaterThan(8 * 3_600_000 - 60_000);
    expect(expiry - before).toBeLessThanOrEqual(8 * 3_600_000);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("Secure");
    expect(cookie).toContain("SameSite=Strict");
    expect(cookie).toContain("Path=/admin/ui");
  });

  it("refuses a form without its CSRF token, or from another origin, and applies a genuine one", async () => {
    const cookie = await login();
    const t = await newTenant({ ratePerMinute: 0, burst: 5, dailyUnits: 100 });
    const { csrf, html } = await page(`/tenants/${t.id}`, cookie);
    expect(csrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(html).toContain('id="quota"');
    const form = { ratePerMinute: "0", burst: "2", dailyUnits: "100", timeZone: "UTC" };
    const post = (body: Record<string, string>, headers: Record<string, string> = {}) =>
      SELF.fetch(`${UI}/tenants/${t.id}/quota`, {
        method: "POST",
        headers: { cookie, ...headers },
        body: new URLSearchParams(body),
        redirect: "manual",
      });

    const forged = await post(form);
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { code: string }).code).toBe("csrf-failed");
    const wrong = await post({ ...form, csrf: "x".repeat(43) });
    expect(wrong.status).toBe(403);
    expect(await problemCode(wrong)).toBe("csrf-failed");
    const foreign = await post({ ...form, csrf }, { origin: "https://evil.example" });
    expect(foreign.status).toBe(403);
    expect(await problemCode(foreign)).toBe("forbidden-origin");
    // Nothing changed.
    expect((await adminJson<{ quota: { burst: number } }>(`/tenants/${t.id}`)).quota.burst).toBe(5);

    const genuine = await post({ ...form, csrf }, { origin: new URL(BASE).origin });
    expect(genuine.status).toBe(303);
    expect((await adminJson<{ quota: { burst: number } }>(`/tenants/${t.id}`)).quota.burst).toBe(2);
    // And it applies on the next call.
    for (let i = 0; i < 2; i++) expect((await call(t.key)).status).toBe(200);
    expect((await call(t.key)).status).toBe(429);

    // An invalid quota is refused with the page and the reason, not applied.
    const invalid = await post({ ...form, burst: "0", csrf });
    expect(invalid.status).toBe(400);
    expect(await invalid.text()).toContain("Not saved: burst");
  });

  it("refuses an expired session whose signature is genuine, and serves a current one signed the same way", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 5, dailyUnits: 100 });
    // Both cookies are made by the signing the gateway itself uses, so the only difference
    // between them is the expiry: the expired one ran out a second ago.
    const now = Date.now();
    const current = `${SESSION_COOKIE}=${await newSession(ADMIN_TOKEN, now)}`;
    const expiredValue = await newSession(ADMIN_TOKEN, now - SESSION_TTL_MS - 1_000);
    const expired = `${SESSION_COOKIE}=${expiredValue}`;
    expect(expiredValue).toMatch(/^\d{13}\.[A-Za-z0-9_-]{43}$/);

    const served = await page("", current);
    expect(served.status).toBe(200);
    expect(served.html).toContain('<table id="tenants">');

    const refused = await SELF.fetch(UI, { headers: { cookie: expired }, redirect: "manual" });
    expect(refused.status).toBe(302);
    expect(refused.headers.get("location")).toBe("/admin/ui/login");
    expect(await refused.text()).not.toContain('<table id="tenants">');

    // A form sent with it, even with the CSRF token that session was issued, changes nothing.
    const csrf = await csrfToken(ADMIN_TOKEN, Number(expiredValue.split(".")[0]));
    const form = { ratePerMinute: "0", burst: "2", dailyUnits: "100", timeZone: "UTC", csrf };
    const post = await postForm(`/tenants/${t.id}/quota`, expired, form);
    expect(post.status).toBe(302);
    expect(post.headers.get("location")).toBe("/admin/ui/login");
    expect(await burstOf(t.id)).toBe(5);
  });

  it("refuses a CSRF token that is genuine for another session", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 5, dailyUnits: 100 });
    const mine = await login();
    // Another operator's session, a minute older (so its expiry, which its token is bound
    // to, differs from mine), with the token the console's pages issue to it.
    const theirs = `${SESSION_COOKIE}=${await newSession(ADMIN_TOKEN, Date.now() - 60_000)}`;
    const theirCsrf = (await page(`/tenants/${t.id}`, theirs)).csrf;
    expect(theirCsrf).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const form = { ratePerMinute: "0", burst: "2", dailyUnits: "100", timeZone: "UTC" };

    const crossed = await postForm(`/tenants/${t.id}/quota`, mine, { ...form, csrf: theirCsrf });
    expect(crossed.status).toBe(403);
    expect(await problemCode(crossed)).toBe("csrf-failed");
    expect(await burstOf(t.id)).toBe(5);

    // The same token with the session it belongs to is accepted: it was refused for being
    // another session's, not for being malformed.
    const own = await postForm(`/tenants/${t.id}/quota`, theirs, { ...form, csrf: theirCsrf });
    expect(own.status).toBe(303);
    expect(await burstOf(t.id)).toBe(2);
  });

  it("logs out by expiring the cookie with the attributes it was set with; a copy of it outlives the logout", async () => {
    const res = await SELF.fetch(`${UI}/login`, {
      method: "POST",
      body: new URLSearchParams({ token: ADMIN_TOKEN }),
      redirect: "manual",
    });
    const set = parseSetCookie(res.headers.get("set-cookie") ?? "");
    const cookie = `${set.name}=${set.value}`;
    const { csrf } = await page("", cookie);

    // Logging out is a form like the others: without the session's token it is refused,
    // so another page cannot log the operator out.
    const forged = await postForm("/logout", cookie, {});
    expect(forged.status).toBe(403);
    expect(await problemCode(forged)).toBe("csrf-failed");
    expect(forged.headers.get("set-cookie")).toBeNull();

    const out = await postForm("/logout", cookie, { csrf });
    expect(out.status).toBe(303);
    expect(out.headers.get("location")).toBe("/admin/ui/login");
    const cleared = parseSetCookie(out.headers.get("set-cookie") ?? "");
    // A browser drops its cookie when it is set again under the same name, domain and path
    // already expired; and only a Secure Set-Cookie may replace a Secure cookie.
    expect(cleared.name).toBe(SESSION_COOKIE);
    expect(cleared.value).toBe("");
    expect(cleared.attrs["max-age"]).toBe("0");
    expect(cleared.attrs.path).toBe("/admin/ui");
    expect({ path: cleared.attrs.path, domain: cleared.attrs.domain, secure: cleared.attrs.secure }).toEqual({
      path: set.attrs.path,
      domain: set.attrs.domain,
      secure: set.attrs.secure,
    });
    expect(cleared.attrs).toHaveProperty("secure");

    // The sessions are stateless (README, "Operator console"): the server keeps no list to
    // strike this one from, so a copy of the cookie taken before the logout still opens the
    // console until it expires. This pins the documented limit; ending sessions on the server
    // would change this line and the README together.
    expect((await page("", cookie)).status).toBe(200);
  });

  it("takes a form without an Origin header on its CSRF token alone, and refuses the Origin null", async () => {
    // Logged in from the console's own page, so only the forms below go without an Origin.
    const cookie = await login({ origin: new URL(BASE).origin });
    const t = await newTenant({ ratePerMinute: 0, burst: 5, dailyUnits: 100 });
    const { csrf } = await page(`/tenants/${t.id}`, cookie);
    const form = { ratePerMinute: "0", burst: "3", dailyUnits: "100", timeZone: "UTC" };
    const quota = `/tenants/${t.id}/quota`;

    // No Origin (a script, an old browser, an extension that strips it): the token decides.
    const missing = await postForm(quota, cookie, form);
    expect(missing.status).toBe(403);
    expect(await problemCode(missing)).toBe("csrf-failed");
    // The session's own token, one character off.
    const nearMiss = `${csrf.startsWith("A") ? "B" : "A"}${csrf.slice(1)}`;
    const wrong = await postForm(quota, cookie, { ...form, csrf: nearMiss });
    expect(wrong.status).toBe(403);
    expect(await problemCode(wrong)).toBe("csrf-failed");
    // "null" is the origin a browser sends when it hides it (a sandboxed frame, a redirect
    // across origins): any page can produce it, so it is foreign, whatever the token.
    const hidden = await postForm(quota, cookie, { ...form, csrf }, { origin: "null" });
    expect(hidden.status).toBe(403);
    expect(await problemCode(hidden)).toBe("forbidden-origin");
    const foreign = await postForm(quota, cookie, { ...form, csrf }, { origin: "https://evil.example" });
    expect(foreign.status).toBe(403);
    expect(await problemCode(foreign)).toBe("forbidden-origin");
    expect(await burstOf(t.id)).toBe(5);

    const genuine = await postForm(quota, cookie, { ...form, csrf });
    expect(genuine.status).toBe(303);
    expect(genuine.headers.get("location")).toBe(`/admin/ui/tenants/${t.id}`);
    expect(await burstOf(t.id)).toBe(3);
  });

  it("does not let a tenant's key reach operator routes or the console", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 5, dailyUnits: 100 });
    const api = await SELF.fetch(`${BASE}/admin/v1/tenants`, { headers: { authorization: `Bearer ${t.key}` } });
    expect(api.status).toBe(401);
    const ui = await SELF.fetch(`${UI}/login`, {
      method: "POST",
      body: new URLSearchParams({ token: t.key }),
      redirect: "manual",
    });
    expect(ui.status).toBe(401);
  });

  // Room for a second run of the scenario, should a midnight fall inside the first.
  it("lists tenants nearest their limit first, and draws 30 days of use", { timeout: 60_000 }, async () => {
    // "Today's use" is the rollup of the Worker's UTC day. A midnight falling between the
    // calls and the page splits that use over two days: then the scenario runs once more,
    // with new tenants (the Worker's clock cannot be pinned: the limiter's alarms run on the
    // real one).
    const day = () => new Date().toISOString().slice(0, 10);
    const started = day();
    try {
      await listsAndDraws();
    } catch (err) {
      if (day() === started) throw err;
      await listsAndDraws();
    }
  });
});

/** The console test above: two tenants, one near its limit, as the list and the chart show them. */
async function listsAndDraws(): Promise<void> {
  const cookie = await login();
  const near = await newTenant({ ratePerMinute: 0, burst: 100, dailyUnits: 10 }, "near the limit");
  const idle = await newTenant({ ratePerMinute: 0, burst: 100, dailyUnits: 1_000 }, "idle");
  for (let i = 0; i < 9; i++) expect((await call(near.key)).status).toBe(200);
  // Today's use comes from the stored rollup, once the usage queue has delivered it.
  const listed = await eventually(async () => {
    const p = await page("", cookie);
    if (!p.html.includes(`data-tenant="${near.id}"`) || !/class="warn" data-tenant/.test(p.html))
      throw new Error("not yet");
    return p.html;
  });
  expect(listed.indexOf(near.id)).toBeLessThan(listed.indexOf(idle.id));
  expect(listed).toMatch(new RegExp(`<tr class="warn" data-tenant="${near.id}">`));
  const tenant = await page(`/tenants/${near.id}`, cookie);
  expect(tenant.html.match(/<circle class="point"/g)).toHaveLength(30);
  expect(tenant.html).toMatch(/data-units="9"/);
  expect((await page("/invoices", cookie)).status).toBe(200);
  expect((await page("/deliveries", cookie)).status).toBe(200);
}
