// What every console page shares, through the real Worker: the style sheet and script served
// by the gateway at content-tagged paths (cached for good, no session needed) under a CSP that
// allows only them, the one-time notice after a form, and the tenant page's per-route limits
// and status forms as the Worker applies them.

import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CONSOLE_JS, SCRIPT_PATH, STYLE_PATH } from "../../src/http/console/assets";
import { CONSOLE_CSS } from "../../src/http/console/style";
import { LISTED_TENANTS, listedSummary, tenantsUpTo } from "../../src/http/console/tenant-list";
import { login, page, postForm, UI } from "../support/workers/console";
import { adminJson, BASE, call, newTenant } from "../support/workers/helpers";

const tenant = (id: string) =>
  adminJson<{ status: string; quota: { routes: Record<string, unknown> } }>(`/tenants/${id}`);

describe("console frame", () => {
  it("serves its style sheet and script itself, cached for good, and a CSP that allows only them", async () => {
    const loginPage = await SELF.fetch(`${UI}/login`);
    // Exactly this: a directive added or loosened (an 'unsafe-inline', a host) fails here.
    expect(loginPage.headers.get("content-security-policy")).toBe(
      "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    );
    const html = await loginPage.text();
    expect(html.startsWith("<!DOCTYPE html><html")).toBe(true);
    expect(html).toContain(`<link rel="stylesheet" href="${STYLE_PATH}"/>`);
    expect(html).toContain(`<script src="${SCRIPT_PATH}" defer=""></script>`);
    // No inline code for the CSP to refuse: every script has a src, and no element a style.
    expect(html.match(/<script(?![^>]*\ssrc=)/g)).toBeNull();
    expect(html).not.toMatch(/\sstyle="/);

    for (const [path, body, type] of [
      [STYLE_PATH, CONSOLE_CSS, "text/css; charset=utf-8"],
      [SCRIPT_PATH, CONSOLE_JS, "text/javascript; charset=utf-8"],
    ]) {
      expect(path).toMatch(/^\/admin\/ui\/assets\/console-[0-9a-f]{8}\.(css|js)$/);
      const res = await SELF.fetch(`${BASE}${path}`, { redirect: "manual" });
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type")).toBe(type);
      expect(res.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(await res.text()).toBe(body);
    }
    // Another tag is not a version this gateway has: without a session, the login page; with
    // one, the console's 404.
    const stale = await SELF.fetch(`${UI}/assets/console-00000000.css`, { redirect: "manual" });
    expect(stale.status).toBe(302);
    expect(stale.headers.get("location")).toBe("/admin/ui/login");
    const missing = await SELF.fetch(`${UI}/assets/console-00000000.css`, {
      headers: { cookie: await login() },
      redirect: "manual",
    });
    expect(missing.status).toBe(404);
  });

  it("shows a notice once after a form, and never a forged one", async () => {
    const cookie = await login();
    const t = await newTenant({ ratePerMinute: 0, burst: 5, dailyUnits: 100 }, "notice");
    const { csrf } = await page(`/tenants/${t.id}`, cookie);
    const suspended = await postForm(`/tenants/${t.id}/status`, cookie, { status: "suspended", csrf });
    expect(suspended.status).toBe(303);
    expect(suspended.headers.get("location")).toBe(`/admin/ui/tenants/${t.id}`);
    const flash = (suspended.headers.get("set-cookie") ?? "").split(";")[0] as string;
    expect(flash).toBe("aegis_flash=suspended");
    expect((await tenant(t.id)).status).toBe("suspended");
    expect((await call(t.key)).status).toBe(403);

    const shown = await SELF.fetch(`${UI}/tenants/${t.id}`, { headers: { cookie: `${cookie}; ${flash}` } });
    expect(await shown.text()).toContain('<p class="flash" role="status" id="notice">Tenant suspended');
    // Shown once: the page deletes it.
    expect(shown.headers.get("set-cookie")).toMatch(/^aegis_flash=; Max-Age=0; Path=\/admin\/ui/);
    // A cookie naming no notice shows nothing: the text comes from the gateway, never the cookie.
    const forged = await SELF.fetch(`${UI}/tenants/${t.id}`, {
      headers: { cookie: `${cookie}; aegis_flash=%3Cscript%3E` },
    });
    const forgedHtml = await forged.text();
    expect(forgedHtml).not.toContain('id="notice"');
    // The page's one script is the served file: no script element without a src.
    expect(forgedHtml.match(/<script(?![^>]*\bsrc=)/g)).toBeNull();
    expect(forgedHtml).not.toContain("%3Cscript");

    const active = await postForm(`/tenants/${t.id}/status`, cookie, { status: "active", csrf });
    expect(active.headers.get("set-cookie")).toMatch(/^aegis_flash=activated;/);
    expect((await tenant(t.id)).status).toBe("active");
    const unknown = await postForm(`/tenants/${t.id}/status`, cookie, { status: "gone", csrf });
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get("content-type")).toBe("text/html; charset=UTF-8");
    expect((await tenant(t.id)).status).toBe("active");
  });

  it("sets and removes a route's own limits, which the next call meets", async () => {
    const cookie = await login();
    const t = await newTenant({ ratePerMinute: 600, burst: 100, dailyUnits: 1_000 }, "routes");
    const { csrf } = await page(`/tenants/${t.id}`, cookie);
    const refused = await postForm(`/tenants/${t.id}/routes`, cookie, { route: "daily", requestBurst: "1", csrf });
    expect(refused.status).toBe(400);
    const refusedHtml = await refused.text();
    expect(refusedHtml).toContain("Not saved: route: ");
    expect(refusedHtml).toContain('name="route" value="daily"');

    const saved = await postForm(`/tenants/${t.id}/routes`, cookie, {
      route: "chat",
      requestsPerMinute: "0",
      requestBurst: "1",
      csrf,
    });
    expect(saved.status).toBe(303);
    expect((await tenant(t.id)).quota.routes).toEqual({ chat: { requestsPerMinute: 0, requestBurst: 1 } });
    expect((await page(`/tenants/${t.id}`, cookie)).html).toContain('<tr data-route="chat">');
    expect((await call(t.key)).status).toBe(200);
    expect((await call(t.key)).status).toBe(429);

    const removed = await postForm(`/tenants/${t.id}/routes/remove`, cookie, { route: "chat", csrf });
    expect(removed.status).toBe(303);
    expect((await tenant(t.id)).quota.routes).toEqual({});
    expect((await call(t.key)).status).toBe(200);
  });
});

describe("console front page", () => {
  it("reads tenants page by page up to its bound, and says when more exist than it shows", async () => {
    for (let i = 0; i < 3; i++) await newTenant({ ratePerMinute: 0, burst: 5, dailyUnits: null }, `listed ${i}`);
    // The operator API's listing, two a page: the cursor carries each page on from the last.
    const pages = { read: 0 };
    const twoAPage = async (cursor: string | undefined) => {
      pages.read++;
      const query = cursor === undefined ? "" : `&cursor=${encodeURIComponent(cursor)}`;
      const p = await adminJson<{ tenants: { id: string }[]; nextCursor: string | null }>(`/tenants?limit=2${query}`);
      return { tenants: p.tenants, next: p.nextCursor };
    };
    const first = await tenantsUpTo(twoAPage, 3);
    expect(first.more).toBe(true);
    expect(pages.read).toBe(2);
    const oneCall = await adminJson<{ tenants: { id: string }[] }>("/tenants?limit=3");
    expect(first.tenants.map((t) => t.id)).toEqual(oneCall.tenants.map((t) => t.id));
    expect(listedSummary(3, true)).toBe(
      "The first 3 tenants; more exist: `aegis tenants list` (page by page, with --cursor) or GET /admin/v1/tenants lists every one.",
    );
    expect(listedSummary(2_345, false)).toBe("2,345 in all.");
    // The page itself, far below its bound, lists every tenant.
    const all = await tenantsUpTo(twoAPage, LISTED_TENANTS);
    expect(all.more).toBe(false);
    const shown = (await page("", await login())).html;
    expect(shown).toMatch(/<p id="tenant-count">[^<]* \d[\d,]* in all\.<\/p>/);
    for (const t of first.tenants) expect(shown).toContain(`data-tenant="${t.id}"`);
  });

  it("creates a tenant from the front page's form, which the API and the list then show", async () => {
    const cookie = await login();
    const { csrf } = await page("", cookie);
    const name = `Created in workerd ${crypto.randomUUID().slice(0, 8)}`;
    const res = await postForm("/tenants", cookie, {
      name,
      ratePerMinute: "60",
      burst: "10",
      dailyUnits: "5000",
      csrf,
    });
    expect(res.status).toBe(303);
    const id = /^\/admin\/ui\/tenants\/(\w+)$/.exec(res.headers.get("location") ?? "")?.[1] ?? "";
    expect(res.headers.get("set-cookie")).toMatch(/^aegis_flash=tenant-created;/);
    const created = await adminJson<{ name: string; status: string; quota: Record<string, unknown> }>(`/tenants/${id}`);
    expect(created).toMatchObject({
      name,
      status: "active",
      quota: { ratePerMinute: 60, burst: 10, dailyUnits: 5_000 },
    });
    expect((await page(`/tenants/${id}`, cookie)).html).toContain(`<h1>${name}</h1>`);
  });
});
