import { runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { TenantLimits } from "../../src/core/limits";
import type { TenantLimiter } from "../../src/tenant-limiter";
import { admin, adminJson, BASE, limiterStub } from "../support/workers/helpers";

interface Tenant {
  id: string;
  name: string;
  status: string;
  billingAccountId: string | null;
  quota: Record<string, unknown>;
  override: unknown;
  createdAt: string;
}

describe("operator API", () => {
  it("creates a tenant with the default quota, reads and renames it", async () => {
    const created = await admin("/tenants", { method: "POST", json: { name: "Acme AI", billingAccountId: "cus_123" } });
    expect(created.status).toBe(201);
    const tenant = (await created.json()) as Tenant;
    expect(tenant).toMatchObject({ name: "Acme AI", status: "active", billingAccountId: "cus_123" });
    expect(tenant.id).toMatch(/^tn[a-z2-7]{16}$/);
    // Defaults come from DEFAULT_RATE_LIMIT_PER_MIN, RATE_LIMIT_BURST and DEFAULT_DAILY_QUOTA_UNITS.
    expect(tenant.quota).toEqual({
      ratePerMinute: 60,
      burst: 60,
      requestsPerMinute: null,
      requestBurst: null,
      maxConcurrent: null,
      alerts: { thresholds: [0.8, 1], inherited: true },
      dailyUnits: 100_000,
      timeZone: "UTC",
      shadow: false,
      leases: false,
      routes: {},
      unitPrice: null,
    });

    expect(await adminJson<Tenant>(`/tenants/${tenant.id}`)).toEqual(tenant);
    // The quota as read can be written back as it is: inherited thresholds stay inherited.
    const back = await adminJson<Tenant>(`/tenants/${tenant.id}/quota`, { method: "PUT", json: tenant.quota });
    expect(back.quota).toEqual(tenant.quota);
    const renamed = await adminJson<Tenant>(`/tenants/${tenant.id}`, { method: "PATCH", json: { name: "Acme" } });
    expect(renamed.name).toBe("Acme");
    expect(renamed.status).toBe("active");
  });

  it("replaces a quota with per-route overrides", async () => {
    const { id } = await adminJson<Tenant>("/tenants", { method: "POST", json: { name: "q" } });
    const quota = {
      ratePerMinute: 120,
      burst: 20,
      requestsPerMinute: 600,
      requestBurst: 50,
      maxConcurrent: 8,
      alerts: { thresholds: [0.5] },
      dailyUnits: null,
      timeZone: "Europe/Berlin",
      shadow: true,
      leases: true,
      routes: { chat: { ratePerMinute: 30, burst: 5, cost: 2, requestsPerMinute: 10, maxConcurrent: 2 } },
      unitPrice: "0.0000015",
    };
    const updated = await adminJson<Tenant>(`/tenants/${id}/quota`, { method: "PUT", json: quota });
    const shown = { ...quota, alerts: { thresholds: [0.5], inherited: false } };
    expect(updated.quota).toEqual(shown);
    expect((await adminJson<Tenant>(`/tenants/${id}`)).quota).toEqual(shown);
    const rewritten = await adminJson<Tenant>(`/tenants/${id}/quota`, { method: "PUT", json: shown });
    expect(rewritten.quota).toEqual(shown);
  });

  it("switches lease mode on and off, and the tenant's limiter holds what was set", async () => {
    // The limits the tenant's Durable Object holds: a quota change is confirmed by it before the 200.
    const held = (id: string) =>
      runInDurableObject(limiterStub(id), (instance: TenantLimiter) => {
        const { snapshot } = (instance as unknown as { tenant: { snapshot: { limits: TenantLimits } | null } }).tenant;
        if (!snapshot) throw new Error(`the limiter of ${id} holds no snapshot`);
        return snapshot.limits;
      });
    const created = await adminJson<Tenant>("/tenants", {
      method: "POST",
      json: { name: "l", quota: { leases: true } },
    });
    expect(created.quota.leases).toBe(true);
    expect((await adminJson<Tenant>(`/tenants/${created.id}`)).quota.leases).toBe(true);

    const { id } = created;
    // The quota written back as read keeps it on.
    const kept = await adminJson<Tenant>(`/tenants/${id}/quota`, { method: "PUT", json: created.quota });
    expect(kept.quota).toEqual(created.quota);
    expect((await held(id)).leases).toBe(true);

    const off = await adminJson<Tenant>(`/tenants/${id}/quota`, {
      method: "PUT",
      json: { ...created.quota, leases: false },
    });
    expect(off.quota).toEqual({ ...created.quota, leases: false });
    // Exact mode is left out of the limiter's limits, as for a tenant from before the field.
    expect(await held(id)).not.toHaveProperty("leases");

    await adminJson(`/tenants/${id}/quota`, { method: "PUT", json: { ...created.quota, leases: true } });
    expect((await held(id)).leases).toBe(true);
    // A quota replaced without the field is back in exact mode, the default, as with shadow.
    const { leases: _, ...without } = created.quota;
    const replaced = await adminJson<Tenant>(`/tenants/${id}/quota`, { method: "PUT", json: without });
    expect(replaced.quota.leases).toBe(false);
    expect(await held(id)).not.toHaveProperty("leases");
  });

  it("fills a quota's left-out fields with the defaults, and takes null for none", async () => {
    const { id } = await adminJson<Tenant>("/tenants", { method: "POST", json: { name: "q2" } });
    const quota = { ratePerMinute: null, burst: null, requestsPerMinute: 60 };
    const updated = await adminJson<Tenant>(`/tenants/${id}/quota`, { method: "PUT", json: quota });
    expect(updated.quota).toMatchObject({
      ratePerMinute: null,
      burst: null,
      requestsPerMinute: 60,
      requestBurst: null,
      maxConcurrent: null,
      dailyUnits: 100_000,
      timeZone: "UTC",
    });
  });

  it("overrides a tenant's limits until a time, shows it, and ends it early", async () => {
    const { id } = await adminJson<Tenant>("/tenants", { method: "POST", json: { name: "ov" } });
    expect((await adminJson<Tenant>(`/tenants/${id}`)).override).toBeNull();
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const override = { quota: { dailyUnits: 500_000, maxConcurrent: 4, routes: { chat: { burst: 100 } } }, until };
    const set = await adminJson<Tenant>(`/tenants/${id}/override`, { method: "PUT", json: override });
    expect(set.override).toEqual(override);
    // The quota itself is untouched: the override is beside it, and ends by itself.
    expect(set.quota.dailyUnits).toBe(100_000);
    expect((await adminJson<Tenant>(`/tenants/${id}`)).override).toEqual(override);
    const ended = await adminJson<Tenant>(`/tenants/${id}/override`, { method: "DELETE" });
    expect(ended.override).toBeNull();
    expect((await adminJson<Tenant>(`/tenants/${id}/override`, { method: "DELETE" })).override).toBeNull();
  });

  it("gives a key its own limits at creation, changes and clears them", async () => {
    const { id } = await adminJson<Tenant>("/tenants", { method: "POST", json: { name: "kl" } });
    const limits = { requestsPerMinute: 10, ratePerMinute: 20_000 };
    const created = await adminJson<{ id: string; limits: unknown }>(`/tenants/${id}/keys`, {
      method: "POST",
      json: { name: "batch", limits },
    });
    expect(created.limits).toEqual(limits);
    const changed = await adminJson<{ limits: unknown }>(`/tenants/${id}/keys/${created.id}`, {
      method: "PATCH",
      json: { limits: { burst: 5 } },
    });
    expect(changed.limits).toEqual({ burst: 5 });
    await adminJson(`/tenants/${id}/keys/${created.id}`, { method: "PATCH", json: { limits: null } });
    const listed = await adminJson<{ keys: { id: string; limits: unknown }[] }>(`/tenants/${id}/keys`);
    expect(listed.keys).toEqual([expect.objectContaining({ id: created.id, limits: null })]);
  });

  it("pages through tenants in creation order", async () => {
    const made: string[] = [];
    for (let i = 0; i < 5; i++)
      made.push((await adminJson<Tenant>("/tenants", { method: "POST", json: { name: `page ${i}` } })).id);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
      const page: { tenants: Tenant[]; nextCursor: string | null } = await adminJson(`/tenants?limit=2${q}`);
      expect(page.tenants.length).toBeLessThanOrEqual(2);
      seen.push(...page.tenants.map((t) => t.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    const positions = made.map((id) => seen.indexOf(id));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  it("creates a key that is shown once, with its display prefix", async () => {
    const { id } = await adminJson<Tenant>("/tenants", { method: "POST", json: { name: "k" } });
    const res = await admin(`/tenants/${id}/keys`, { method: "POST", json: { name: "production" } });
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const key = (await res.json()) as { id: string; key: string; prefix: string; name: string };
    expect(key.key.startsWith(key.prefix)).toBe(true);
    expect(key.key.startsWith(`ak_${id}_`)).toBe(true);
    expect(key.name).toBe("production");
    const listed = await adminJson<{ keys: { id: string; prefix: string }[] }>(`/tenants/${id}/keys`);
    expect(listed.keys).toEqual([expect.objectContaining({ id: key.id, prefix: key.prefix })]);
  });

  it("accepts a key request with no body at all", async () => {
    const { id } = await adminJson<Tenant>("/tenants", { method: "POST", json: { name: "k2" } });
    const res = await admin(`/tenants/${id}/keys`, { method: "POST" });
    expect(res.status).toBe(201);
  });

  it("serves an OpenAPI 3.1 document describing the operator and tenant routes", async () => {
    const res = await SELF.fetch(`${BASE}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, { properties?: Record<string, { description?: string }> }> };
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        "/account/v1/limits",
        "/account/v1/usage",
        "/admin/v1/billing/run",
        "/admin/v1/prices",
        "/admin/v1/tenants/{id}/prices",
        "/admin/v1/invoices",
        "/admin/v1/invoices/{id}",
        "/admin/v1/invoices/{id}/pay",
        "/admin/v1/invoices/{id}/void",
        "/admin/v1/webhooks/deliveries",
        "/admin/v1/webhooks/deliveries/{id}/redeliver",
        "/admin/v1/tenants",
        "/admin/v1/tenants/{id}",
        "/admin/v1/tenants/{id}/keys",
        "/admin/v1/tenants/{id}/override",
        "/admin/v1/tenants/{id}/keys/{keyId}",
        "/admin/v1/tenants/{id}/quota",
        "/admin/v1/tenants/{id}/usage",
      ].sort(),
    );
    expect(Object.keys(doc.paths["/admin/v1/tenants"] ?? {}).sort()).toEqual(["get", "post"]);
    expect(Object.keys(doc.paths["/admin/v1/tenants/{id}"] ?? {}).sort()).toEqual(["get", "patch"]);
    expect(Object.keys(doc.paths["/account/v1/usage"] ?? {}).sort()).toEqual(["get", "post"]);
    // Lease mode is described where a quota is written and where it is read.
    for (const schema of ["Quota", "ResolvedQuota"]) {
      expect(doc.components.schemas[schema]?.properties?.leases?.description, schema).toMatch(
        /^Lease mode: .*within 1 s\. Default false \(exact mode\)\.$/,
      );
    }
  });
});
