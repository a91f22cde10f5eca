import { runDurableObjectAlarm, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { noonZone } from "../support/noon-zone";
import { admin, BASE, env, eventually, limiterStub, newTenant, usedToday } from "../support/workers/helpers";

function report(key: string, body: unknown) {
  return SELF.fetch(`${BASE}/account/v1/usage`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

const readUsage = (key: string, query = "") =>
  SELF.fetch(`${BASE}/account/v1/usage${query}`, { headers: { authorization: `Bearer ${key}` } });

describe("reported usage", () => {
  it("records a job's usage once: 202, then 200 duplicate for the same key", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 1, dailyUnits: 10_000 });
    const first = await report(t.key, {
      units: 1_500,
      idempotencyKey: "job-1",
      route: "batch",
      metadata: { model: "m2" },
    });
    expect(first.status).toBe(202);
    const { eventId, duplicate } = (await first.json()) as { eventId: string; duplicate: boolean };
    expect(duplicate).toBe(false);
    expect(first.headers.get("ratelimit")).toMatch(/^"daily";r=8500;t=\d+$/);
    const again = await report(t.key, { units: 1_500, idempotencyKey: "job-1", route: "batch" });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ eventId, duplicate: true });
    // The bucket (burst 1) does not limit reports; only the daily quota does.
    expect(await usedToday(t.id)).toBe(1_500);
  });

  it("never double-counts a key under 20 concurrent retries", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 1, dailyUnits: 10_000 });
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => report(t.key, { units: 300, idempotencyKey: "retry-me" })),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([...Array(19).fill(200), 202]);
    const ids = new Set(
      await Promise.all(responses.map(async (r) => ((await r.json()) as { eventId: string }).eventId)),
    );
    expect(ids.size).toBe(1);
    expect(await usedToday(t.id)).toBe(300);
  });

  it("answers 429 and records nothing when the units do not fit today's quota", async () => {
    // At the tenant's noon: its day cannot end between the reports.
    const t = await newTenant({ ratePerMinute: 0, burst: 1, dailyUnits: 1_000, timeZone: noonZone() });
    expect((await report(t.key, { units: 900, idempotencyKey: "a" })).status).toBe(202);
    const limited = await report(t.key, { units: 200, idempotencyKey: "b" });
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as Record<string, unknown>)["violated-policies"]).toEqual(["daily"]);
    expect(await usedToday(t.id)).toBe(900);
    // Nothing was remembered for "b": it can be sent again once it fits.
    expect((await report(t.key, { units: 100, idempotencyKey: "b" })).status).toBe(202);
  });

  it("validates every field with a clear 4xx", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 1, dailyUnits: 1_000 });
    const future = new Date(Date.now() + 10 * 60_000).toISOString();
    const ancient = new Date(Date.now() - 100 * 86_400_000).toISOString();
    for (const body of [
      { units: 0, idempotencyKey: "k" },
      { units: -1, idempotencyKey: "k" },
      { units: 1.5, idempotencyKey: "k" },
      { units: 2_000_000_000, idempotencyKey: "k" },
      { units: 1 },
      { units: 1, idempotencyKey: "" },
      { units: 1, idempotencyKey: "has space" },
      { units: 1, idempotencyKey: "k", occurredAt: future },
      { units: 1, idempotencyKey: "k", occurredAt: ancient },
      { units: 1, idempotencyKey: "k", occurredAt: "yesterday" },
      { units: 1, idempotencyKey: "k", route: "daily" },
      { units: 1, idempotencyKey: "k", extra: true },
    ]) {
      const res = await report(t.key, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
    }
    const huge = await report(t.key, { units: 1, idempotencyKey: "k", metadata: { note: "x".repeat(20_000) } });
    expect(huge.status).toBe(413);
    expect(await usedToday(t.id)).toBe(0);
    expect(
      (await report("ak_tnaaaaaaaaaaaaaaaa_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", { units: 1, idempotencyKey: "k" }))
        .status,
    ).toBe(401);
  });

  it("takes a report's tokens and model, with units defaulting to input + output, and reads them back", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 1, dailyUnits: 100_000 });
    const occurredAt = new Date().toISOString();
    const day = occurredAt.slice(0, 10);
    const tokens = { inputTokens: 120, outputTokens: 30, cachedInputTokens: 20, model: "gpt-4o-mini" };
    expect((await report(t.key, { ...tokens, idempotencyKey: "t1", occurredAt })).status).toBe(202);
    expect(await usedToday(t.id)).toBe(150);
    // Bad reports: nothing to count, more cached than input, negative tokens.
    for (const bad of [
      { idempotencyKey: "b1" },
      { inputTokens: 0, outputTokens: 0, idempotencyKey: "b2" },
      { inputTokens: 5, cachedInputTokens: 6, idempotencyKey: "b3" },
      { units: 3, outputTokens: -1, idempotencyKey: "b4" },
    ]) {
      const res = await report(t.key, bad);
      expect(res.status, JSON.stringify(bad)).toBe(400);
    }
    expect(await usedToday(t.id)).toBe(150);
    await runDurableObjectAlarm(limiterStub(t.id));
    const usage = await eventually(async () => {
      const body = (await (await readUsage(t.key)).json()) as { days: unknown[]; totals: { units: number } };
      expect(body.totals.units).toBe(150);
      return body;
    });
    expect(usage.days).toEqual([
      {
        day,
        route: "default",
        model: "gpt-4o-mini",
        requests: 1,
        inputTokens: 120,
        outputTokens: 30,
        cachedInputTokens: 20,
        units: 150,
        // A tenant's report is what it used, never an estimate.
        estimatedRequests: 0,
        estimatedUnits: 0,
      },
    ]);
  });

  it("adds the cost so far in the open period with include=cost, priced by the tenant's prices", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 1, dailyUnits: 10_000_000 });
    const book = {
      currency: "USD",
      prices: [
        { model: "gpt-4o*", dimension: "inputTokens", unitPrice: "0.00001", effectiveFrom: "2020-01-01" },
        { model: "gpt-4o*", dimension: "cachedInputTokens", unitPrice: "0.000005", effectiveFrom: "2020-01-01" },
        {
          model: "gpt-4o*",
          dimension: "outputTokens",
          unitPrice: "0.00002",
          effectiveFrom: "2020-01-01",
          tiers: [
            { upTo: 100_000, unitPrice: "0.00002" },
            { upTo: null, unitPrice: "0.00001" },
          ],
        },
      ],
    };
    expect((await admin(`/tenants/${t.id}/prices`, { method: "PUT", json: book })).status).toBe(200);
    const tokens = { inputTokens: 150_000, cachedInputTokens: 50_000, outputTokens: 150_000, model: "gpt-4o" };
    expect((await report(t.key, { ...tokens, idempotencyKey: "priced" })).status).toBe(202);
    await runDurableObjectAlarm(limiterStub(t.id));
    const body = await eventually(async () => {
      const read = (await (await readUsage(t.key, "?include=cost")).json()) as {
        totals: { units: number };
        cost: { amountMinor: number; periodStart: string; lines: unknown[] };
      };
      expect(read.totals.units).toBe(300_000);
      return read;
    });
    // The open period: this UTC month (BILLING_PERIOD is month here).
    const now = new Date();
    const first = (monthIndex: number) =>
      new Date(Date.UTC(now.getUTCFullYear(), monthIndex, 1)).toISOString().slice(0, 10);
    const period = { periodStart: first(now.getUTCMonth()), periodEnd: first(now.getUTCMonth() + 1) };
    expect(body.cost).toMatchObject({ currency: "USD", ...period, amountMinor: 375 });
    expect(body.cost.lines).toEqual([
      // 150,000 input less 50,000 cached at 0.00001 = 1.00 USD.
      {
        model: "gpt-4o",
        dimension: "inputTokens",
        quantity: 100_000,
        unitPrice: "0.00001",
        amountMinor: 100,
        ...period,
      },
      {
        model: "gpt-4o",
        dimension: "outputTokens",
        tier: 0,
        quantity: 100_000,
        unitPrice: "0.00002",
        amountMinor: 200,
        ...period,
      },
      {
        model: "gpt-4o",
        dimension: "outputTokens",
        tier: 1,
        quantity: 50_000,
        unitPrice: "0.00001",
        amountMinor: 50,
        ...period,
      },
      {
        model: "gpt-4o",
        dimension: "cachedInputTokens",
        quantity: 50_000,
        unitPrice: "0.000005",
        amountMinor: 25,
        ...period,
      },
    ]);
    // Without include=cost, the usage alone, as before.
    expect(await (await readUsage(t.key)).json()).not.toHaveProperty("cost");
  });

  it("shows each tenant its own usage, and never another's", async () => {
    const a = await newTenant({ ratePerMinute: 0, burst: 1, dailyUnits: 100_000 });
    const b = await newTenant({ ratePerMinute: 0, burst: 1, dailyUnits: 100_000 });
    // The reports name their time, so a UTC midnight passing mid-test cannot split them.
    const occurredAt = new Date().toISOString();
    const today = occurredAt.slice(0, 10);
    await report(a.key, { units: 40, idempotencyKey: "a1", route: "batch", occurredAt });
    await report(a.key, { units: 2, idempotencyKey: "a2", occurredAt });
    await report(b.key, { units: 7, idempotencyKey: "b1", occurredAt });
    await runDurableObjectAlarm(limiterStub(a.id));
    await runDurableObjectAlarm(limiterStub(b.id));
    const mine = await eventually(async () => {
      const res = await readUsage(a.key);
      expect(res.status).toBe(200);
      const body = (await res.json()) as { tenantId: string; totalUnits: number; days: unknown[]; totals: unknown };
      expect(body.totalUnits).toBe(42);
      return body;
    });
    expect(mine.tenantId).toBe(a.id);
    // Per day, route and model, every dimension: reports that named no model or tokens.
    const none = {
      model: null,
      inputTokens: 0,
      outputTokens: 0,
      cachedInputTokens: 0,
      estimatedRequests: 0,
      estimatedUnits: 0,
    };
    expect(mine.days).toEqual([
      { day: today, route: "batch", ...none, units: 40, requests: 1 },
      { day: today, route: "default", ...none, units: 2, requests: 1 },
    ]);
    const { model: _, ...zero } = none;
    expect(mine.totals).toEqual({ requests: 2, ...zero, units: 42 });
    const theirs = await eventually(async () => {
      const body = (await (await readUsage(b.key)).json()) as { tenantId: string; totalUnits: number };
      expect(body.totalUnits).toBe(7);
      return body;
    });
    expect(theirs.tenantId).toBe(b.id);
    // The tenant API has no way to name another tenant; the operator API does.
    const viaAdmin = await admin(`/tenants/${b.id}/usage`);
    expect(((await viaAdmin.json()) as { totalUnits: number }).totalUnits).toBe(7);
    expect((await readUsage(a.key, "?from=2026-01-10&to=2026-01-01")).status).toBe(400);
    expect((await readUsage(a.key, "?from=2020-01-01&to=2026-01-01")).status).toBe(400);
    expect((await readUsage(a.key, "?from=2026-02-30")).status).toBe(400);
  });

  it("recordUsage() records for a tenant the embedding app names", async () => {
    const { recordUsage } = await import("../../src/hono");
    const t = await newTenant({ ratePerMinute: 0, burst: 1, dailyUnits: 100 });
    expect((await recordUsage(env, t.id, { units: 60, idempotencyKey: "j1" })).outcome).toBe("recorded");
    expect((await recordUsage(env, t.id, { units: 60, idempotencyKey: "j1" })).outcome).toBe("duplicate");
    expect((await recordUsage(env, t.id, { units: 60, idempotencyKey: "j2" })).outcome).toBe("limited");
    await expect(recordUsage(env, t.id, { units: 0, idempotencyKey: "j3" })).rejects.toMatchObject({ status: 400 });
  });
});
