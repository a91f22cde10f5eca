// What every console page shares, through the real Worker: the style sheet and script served
// by the gateway at content-tagged paths (cached for good, no session needed) under a CSP that
// allows only them, the one-time notice after a form, and the tenant page's per-route limits
// and status forms as the Worker applies them.

import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CONSOLE_JS, SCRIPT_PATH, STYLE_PATH } from "../../src/http/console/assets";
import { CONSOLE_CSS } from "../../src/http/console/style";
import { login, page, postForm, UI } from "../support/workers/console";
import { adminJson, BASE, call, newTenant } from "../support/workers/helpers";

const tenant = (id: string) =>
  adminJson<{ status: string; quota: { routes: Record<string, unknown> } }>(`/tenants/${id}`);

describe("console frame", () => {
  it("serves its style sheet and script itself, cached for good, and a CSP that allows only them", async () => {
    const login = await SELF.fetch(`${UI}/login`);
    const csp = login.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).toContain("default-src 'none'");
    const html = await login.text();
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
    // Another tag is not a version this gateway has.
    expect((await SELF.fetch(`${UI}/assets/console-00000000.css`, { redirect: "manual" })).status).not.toBe(200);
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
    expect(forgedHtml).not.toContain("<script>");

    const active = await postForm(`/tenants/${t.id}/status`, cookie, { status: "active", csrf });
    expect(active.headers.get("set-cookie")).toMatch(/^aegis_flash=activated;/);
    expect((await tenant(t.id)).status).toBe("active");
    expect((await postForm(`/tenants/${t.id}/status`, cookie, { status: "gone", csrf })).status).toBe(400);
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
