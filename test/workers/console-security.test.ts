// The operator console's pages and defences, through the real Worker: login, the session
// cookie's attributes, CSRF, foreign origins, and what the pages show.

import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ADMIN_TOKEN, adminJson, BASE, call, eventually, newTenant } from "./helpers";

const UI = `${BASE}/admin/ui`;

async function login(): Promise<string> {
  const res = await SELF.fetch(`${UI}/login`, {
    method: "POST",
    body: new URLSearchParams({ token: ADMIN_TOKEN }),
    redirect: "manual",
  });
  expect(res.status).toBe(303);
  const cookie = res.headers.get("set-cookie") ?? "";
  return cookie.split(";")[0] as string;
}

async function page(path: string, cookie: string): Promise<{ status: number; html: string; csrf: string }> {
  const res = await SELF.fetch(`${UI}${path}`, { headers: { cookie }, redirect: "manual" });
  const html = await res.text();
  return { status: res.status, html, csrf: /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? "" };
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
    const cookie = res.headers.get("set-cookie") ?? "";
    expect(cookie).toMatch(/^aegis_session=\d+\.[A-Za-z0-9_-]{43};/);
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
    expect((await post({ ...form, csrf: "x".repeat(43) })).status).toBe(403);
    const foreign = await post({ ...form, csrf }, { origin: "https://evil.example" });
    expect(foreign.status).toBe(403);
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

  it("lists tenants nearest their limit first, and draws 30 days of use", async () => {
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
  });
});
