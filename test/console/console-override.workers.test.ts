// The console's override and alert thresholds through the real Worker: setting an override
// for some hours (what the next call meets), ending it, a refused form given back as typed,
// and the quota's alert thresholds saved from the quota editor.

import { describe, expect, it } from "vitest";
import { login, page, postForm } from "../support/workers/console";
import { adminJson, call, newTenant } from "../support/workers/helpers";

interface TenantBody {
  quota: Record<string, unknown> & { alerts: { thresholds: number[]; inherited: boolean } };
  override: { quota: Record<string, unknown>; until: string } | null;
}
const tenant = (id: string) => adminJson<TenantBody>(`/tenants/${id}`);
const policies = (res: Response) => res.headers.get("ratelimit-policy") ?? "";

describe("console, overrides and alerts", () => {
  it("sets an override for some hours, which the next call meets, shows it, and ends it", async () => {
    const cookie = await login();
    const t = await newTenant({ ratePerMinute: 60, burst: 10, dailyUnits: 1_000 });
    const before = await page(`/tenants/${t.id}`, cookie);
    expect(before.html).toContain("No override: the quota above applies.");
    const started = Date.now();
    const set = await postForm(`/tenants/${t.id}/override`, cookie, {
      csrf: before.csrf,
      dailyUnits: "50000",
      maxConcurrent: "2",
      ratePerMinute: "",
      hours: "6",
    });
    expect(set.status).toBe(303);
    const { override, quota } = await tenant(t.id);
    expect(override?.quota).toEqual({ dailyUnits: 50_000, maxConcurrent: 2 });
    const ahead = Date.parse(override?.until ?? "") - started;
    expect(ahead).toBeGreaterThanOrEqual(6 * 3_600_000 - 1_000);
    expect(ahead).toBeLessThanOrEqual(6 * 3_600_000 + 60_000);
    expect(quota.dailyUnits).toBe(1_000);
    const shown = await page(`/tenants/${t.id}`, cookie);
    expect(shown.html).toContain(`datetime="${override?.until}"`);
    expect(shown.html).toContain("dailyUnits 50000, maxConcurrent 2");
    const during = await call(t.key);
    expect(policies(during)).toContain('"daily";q=50000');
    expect(policies(during)).toContain('"concurrency";q=2');

    expect((await postForm(`/tenants/${t.id}/override/end`, cookie, { csrf: shown.csrf })).status).toBe(303);
    expect((await tenant(t.id)).override).toBeNull();
    const after = await call(t.key);
    expect(policies(after)).toContain('"daily";q=1000');
    expect(policies(after)).not.toContain('"concurrency"');
  });

  it("gives a refused override back as typed, and saves nothing", async () => {
    const cookie = await login();
    const t = await newTenant({ ratePerMinute: 60, burst: 10, dailyUnits: 1_000 });
    const { csrf } = await page(`/tenants/${t.id}`, cookie);
    const noHours = await postForm(`/tenants/${t.id}/override`, cookie, { csrf, dailyUnits: "77", hours: "0" });
    expect(noHours.status).toBe(400);
    const html = await noHours.text();
    expect(html).toContain("hours: a whole number of hours");
    expect(html).toContain('value="77"');
    const nothing = await postForm(`/tenants/${t.id}/override`, cookie, { csrf, hours: "3" });
    expect(nothing.status).toBe(400);
    expect(await nothing.text()).toContain("an override changes at least one limit");
    expect((await tenant(t.id)).override).toBeNull();
  });

  it("saves the alert thresholds from the quota editor, and refuses ones that are not fractions", async () => {
    const cookie = await login();
    const t = await newTenant({ ratePerMinute: 60, burst: 10, dailyUnits: 1_000 });
    const { csrf } = await page(`/tenants/${t.id}`, cookie);
    const quota = { ratePerMinute: "60", burst: "10", dailyUnits: "1000", timeZone: "UTC" };
    // Saved as shown, the thresholds the tenant follows from QUOTA_ALERT_THRESHOLDS stay followed.
    const shown = (await tenant(t.id)).quota.alerts;
    expect(shown).toEqual({ thresholds: [0.8, 1], inherited: true });
    expect((await postForm(`/tenants/${t.id}/quota`, cookie, { csrf, ...quota, alerts: "0.8, 1" })).status).toBe(303);
    expect((await tenant(t.id)).quota.alerts).toEqual(shown);
    expect((await postForm(`/tenants/${t.id}/quota`, cookie, { csrf, ...quota, alerts: "0.5, 0.9" })).status).toBe(303);
    expect((await tenant(t.id)).quota.alerts).toEqual({ thresholds: [0.5, 0.9], inherited: false });
    const bad = await postForm(`/tenants/${t.id}/quota`, cookie, { csrf, ...quota, alerts: "half" });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("alerts: fractions");
    expect((await postForm(`/tenants/${t.id}/quota`, cookie, { csrf, ...quota, alerts: "" })).status).toBe(303);
    expect((await tenant(t.id)).quota.alerts).toEqual({ thresholds: [], inherited: false });
  });
});
