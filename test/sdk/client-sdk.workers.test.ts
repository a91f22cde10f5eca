// The client SDK against the real Worker in workerd: the tenant client's RateLimit fields,
// retries, idempotent reports and errors, and the operator client's routes end to end.

import { runInDurableObject, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { newDeliveryId, newInvoiceId } from "../../src/billing/ids";
import {
  AegisAdmin,
  AegisClient,
  AegisError,
  HTTPError,
  jobIdempotencyKey,
  NetworkError,
  TimeoutError,
} from "../../src/client/index";
import type { InvoiceLineV1 } from "../../src/client/types";
import { invoices, webhookDeliveries } from "../../src/db/schema";
import type { TenantLimiter } from "../../src/tenant-limiter";
import { ADMIN_TOKEN, BASE, limiterStub, newTenant, withDb } from "../support/workers/helpers";

const viaWorker = (request: Request) => SELF.fetch(request);
const admin = new AegisAdmin({ baseUrl: BASE, token: ADMIN_TOKEN, fetch: viaWorker });

describe("AegisClient", () => {
  it("sends the key in the header it is told to, and the gateway takes it from each", async () => {
    const { key, id } = await newTenant({ ratePerMinute: 0, burst: 5, dailyUnits: null });
    for (const keyHeader of ["authorization", "x-api-key", "api-key"] as const) {
      const sent: string[] = [];
      const client = new AegisClient({
        baseUrl: BASE,
        apiKey: key,
        keyHeader,
        fetch: (request) => {
          sent.push(...["authorization", "x-api-key", "api-key"].filter((h) => request.headers.has(h)));
          return viaWorker(request);
        },
      });
      expect((await client.limits()).tenantId).toBe(id);
      expect(sent).toEqual([keyHeader]);
    }
    expect(() => new AegisClient({ baseUrl: BASE, apiKey: key, keyHeader: "x-key" as never })).toThrow(/keyHeader/);
  });

  it("reads both RateLimit fields, with every policy, on each response", async () => {
    const { key } = await newTenant({ ratePerMinute: 60, burst: 5, dailyUnits: 1_000 });
    const client = new AegisClient({ baseUrl: BASE, apiKey: key, fetch: viaWorker });
    const res = await client.fetch("/v1/chat/completions", { method: "POST", json: {} });
    expect(res.status).toBe(200);
    expect(res.rateLimit.policies).toEqual([
      { name: "chat", quota: 5, windowSeconds: 5, extra: {} },
      { name: "daily", quota: 1_000, windowSeconds: 86_400, extra: {} },
    ]);
    expect(res.rateLimit.limits.map((l) => [l.name, l.remaining])).toEqual([
      ["chat", 4],
      ["daily", 999],
    ]);
    expect(res.rateLimit.tightest).toMatchObject({ name: "chat", remaining: 4, quota: 5 });
    // The body is the upstream's, untouched.
    expect(((await res.json()) as { object: string }).object).toBe("chat.completion");
  });

  it("waits out a 429 as Retry-After says, then succeeds once the bucket refills", async () => {
    const t = await newTenant({ ratePerMinute: 60, burst: 1, dailyUnits: null });
    let now = Date.now();
    const setClock = (at: number) =>
      runInDurableObject(limiterStub(t.id), (instance: TenantLimiter) => {
        instance.clock = () => at;
      });
    await setClock(now);
    const waits: number[] = [];
    const client = new AegisClient({
      baseUrl: BASE,
      apiKey: t.key,
      fetch: viaWorker,
      random: () => 0.5,
      // The limiter's clock moves instead of the test sleeping.
      sleep: async (ms) => {
        waits.push(ms);
        now += ms;
        await setClock(now);
      },
    });
    expect((await client.fetch("/v1/chat/completions", { method: "POST", body: "{}" })).status).toBe(200);
    const second = await client.fetch("/v1/chat/completions", { method: "POST", body: "{}" });
    expect(second.status).toBe(200);
    expect(waits).toHaveLength(1);
    // Retry-After: 1, plus jitter of at most a quarter second and a bit.
    expect(waits[0]).toBeGreaterThanOrEqual(1_000);
    expect(waits[0]).toBeLessThan(1_500);
  });

  it("gives up once the next wait would pass the total budget, with the 429 as an HTTPError", async () => {
    // No refill: the quota never comes back, so Retry-After is the longest there is.
    const t = await newTenant({ ratePerMinute: 0, burst: 1, dailyUnits: null });
    const waits: number[] = [];
    const client = new AegisClient({
      baseUrl: BASE,
      apiKey: t.key,
      fetch: viaWorker,
      retry: { maxWaitMs: 5_000 },
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    await client.fetch("/v1/chat/completions", { method: "POST", body: "{}" });
    const err = await client.fetch("/v1/chat/completions", { method: "POST", body: "{}" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HTTPError);
    expect(err).toBeInstanceOf(AegisError);
    const http = err as HTTPError;
    expect(http.name).toBe("HTTPError");
    expect(http.status).toBe(429);
    expect(http.problem.code).toBe("quota-exceeded");
    expect(http.problem.type).toBe("urn:aegis-edge:problem:quota-exceeded");
    expect(http.message).toContain(`POST ${BASE}/v1/chat/completions`);
    expect(waits).toEqual([]);
  });

  it("records a job's usage once, however often the job reports it", async () => {
    const t = await newTenant({ ratePerMinute: 60, burst: 10, dailyUnits: 1_000 });
    const client = new AegisClient({ baseUrl: BASE, apiKey: t.key, fetch: viaWorker });
    const first = await client.recordUsage({ units: 120, route: "batch", jobId: "job-42" });
    const again = await client.recordUsage({ units: 120, route: "batch", jobId: "job-42" });
    expect(first.duplicate).toBe(false);
    expect(again).toEqual({ eventId: first.eventId, duplicate: true });
    expect(await jobIdempotencyKey("job-42", "batch")).toBe(await jobIdempotencyKey("job-42", "batch"));
    expect(await jobIdempotencyKey("job-42", "batch")).not.toBe(await jobIdempotencyKey("job-43", "batch"));
    const limits = await client.limits();
    expect(limits.daily).toMatchObject({ used: 120, remaining: 880 });
    await expect(client.recordUsage({ units: 1 })).rejects.toThrow(/idempotencyKey or a jobId/);
  });

  it("throws each error class with its name, the call, and the cause", async () => {
    const bad = new AegisClient({ baseUrl: BASE, apiKey: "ak_tnaaaaaaaaaaaaaaaa_nope", fetch: viaWorker });
    const unauthorized = (await bad.limits().catch((e: unknown) => e)) as HTTPError;
    expect(unauthorized).toBeInstanceOf(HTTPError);
    expect(unauthorized).toMatchObject({ name: "HTTPError", status: 401, method: "GET" });
    expect(unauthorized.problem).toMatchObject({
      status: 401,
      code: "unauthorized",
      detail: "the API key is unknown or has been revoked",
    });
    expect(unauthorized.url).toBe(`${BASE}/account/v1/limits`);

    const hanging = new AegisClient({
      baseUrl: BASE,
      apiKey: "ak_x",
      timeoutMs: 50,
      fetch: (request) =>
        new Promise((_, reject) => request.signal.addEventListener("abort", () => reject(request.signal.reason))),
    });
    const timeout = (await hanging.limits().catch((e: unknown) => e)) as TimeoutError;
    expect(timeout).toBeInstanceOf(TimeoutError);
    expect(timeout).toMatchObject({ name: "TimeoutError", timeoutMs: 50, method: "GET" });
    expect(timeout.message).toContain("/account/v1/limits");
    // The cause is the fetch's own rejection: the abort the client's timer sent it.
    expect(timeout.cause).toMatchObject({ name: "AbortError" });

    const refused = new AegisClient({
      baseUrl: BASE,
      apiKey: "ak_x",
      fetch: async () => {
        throw new TypeError("connection refused");
      },
    });
    const network = (await refused.usage().catch((e: unknown) => e)) as NetworkError;
    expect(network).toBeInstanceOf(NetworkError);
    expect(network.name).toBe("NetworkError");
    expect(network.message).toContain("connection refused");
    expect((network.cause as Error).message).toBe("connection refused");
  });
});

describe("AegisAdmin", () => {
  it("manages a tenant, its quota and keys, and reads its usage", async () => {
    const tenant = await admin.createTenant({
      name: "sdk tenant",
      quota: { ratePerMinute: 0, burst: 2, dailyUnits: 100 },
    });
    expect(tenant).toMatchObject({ name: "sdk tenant", status: "active", quota: { burst: 2 } });
    expect((await admin.getTenant(tenant.id)).id).toBe(tenant.id);
    const list = await admin.listTenants({ limit: 200 });
    expect(list.tenants.some((t) => t.id === tenant.id)).toBe(true);

    const created = await admin.createKey(tenant.id, { name: "ci" });
    expect(created.key).toMatch(/^ak_/);
    const client = new AegisClient({ baseUrl: BASE, apiKey: created.key, fetch: viaWorker, retry: false });
    expect((await client.fetch("/v1/chat/completions", { method: "POST", body: "{}" })).status).toBe(200);

    const raised = await admin.setQuota(tenant.id, { ratePerMinute: 0, burst: 50, dailyUnits: 100 });
    expect(raised.quota.burst).toBe(50);
    // The raised quota applies on the next call.
    const next = await client.fetch("/v1/chat/completions", { method: "POST", body: "{}" });
    expect(next.rateLimit.policies.find((p) => p.name === "chat")?.quota).toBe(50);

    const suspended = await admin.updateTenant(tenant.id, { status: "suspended" });
    expect(suspended.status).toBe("suspended");
    const refused = (await client.limits().catch((e: unknown) => e)) as HTTPError;
    expect(refused).toBeInstanceOf(HTTPError);
    expect(refused.problem).toMatchObject({ status: 403, code: "tenant-suspended" });
    await admin.updateTenant(tenant.id, { status: "active" });
    expect(await client.limits()).toMatchObject({ tenantId: tenant.id, daily: { units: 100 } });

    expect((await admin.listKeys(tenant.id)).keys.map((k) => k.id)).toContain(created.id);
    await admin.revokeKey(tenant.id, created.id);
    const revoked = (await client.limits().catch((e: unknown) => e)) as HTTPError;
    expect(revoked).toBeInstanceOf(HTTPError);
    expect(revoked.problem).toMatchObject({ status: 401, code: "unauthorized" });

    const usage = await admin.usage(tenant.id);
    expect(usage.tenantId).toBe(tenant.id);

    const missing = (await admin.getTenant("tnaaaaaaaaaaaaaaaa").catch((e: unknown) => e)) as HTTPError;
    expect(missing).toMatchObject({ name: "HTTPError", status: 404 });
  });

  it("lists invoices and deliveries, and refuses a billing run for an open period", async () => {
    // An issued invoice and a delivered webhook, written to the database directly: a billing
    // run or a payment here would send a real webhook to the mailbox other test files count,
    // and a delivered row is one the dispatcher never picks up.
    const t = await newTenant({ ratePerMinute: 0, burst: 1, dailyUnits: null });
    const period = { periodStart: "2020-01-01", periodEnd: "2020-02-01" };
    // 1234 units at 0.0015 USD: 1.851 USD, 185 cents.
    const line = { kind: "usage" as const, route: "chat", ...period, units: 1234, requests: 1234 };
    const invoice = {
      id: newInvoiceId(),
      tenantId: t.id,
      ...period,
      units: 1234,
      amountMinor: 185,
      currency: "USD",
      status: "issued" as const,
      // v1 lines, as invoices issued before the price book keep them (sdk-prices has v2's).
      lineItems: [{ ...line, unitPrice: "0.0015", amountMinor: 185 }] satisfies InvoiceLineV1[],
      billingAccountId: null,
      paymentMethodRef: null,
    };
    const deliveredAt = new Date();
    const delivery = {
      id: newDeliveryId(),
      eventType: "invoice.created",
      payload: { type: "invoice.created", data: { id: invoice.id } },
      status: "delivered" as const,
      attempts: 1,
      lastStatus: 200,
      deliveredAt,
    };
    await withDb(async (db) => {
      await db.insert(invoices).values(invoice);
      await db.insert(webhookDeliveries).values(delivery);
    });
    const iso = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    expect(await admin.listInvoices({ tenantId: t.id, limit: 5 })).toEqual({
      invoices: [{ ...invoice, createdAt: iso, paidAt: null, voidedAt: null }],
      nextCursor: null,
    });

    // Deliveries are newest first, and other files write theirs meanwhile: page to this one,
    // checking the status filter on the way.
    let found: unknown;
    let cursor: string | undefined;
    do {
      const page = await admin.listDeliveries({ status: "delivered", limit: 50, cursor });
      expect(page.deliveries.filter((d) => d.status !== "delivered")).toEqual([]);
      found = page.deliveries.find((d) => d.id === delivery.id);
      cursor = page.nextCursor ?? undefined;
    } while (!found && cursor);
    expect(found).toEqual({
      ...delivery,
      nextAttemptAt: null,
      lastError: null,
      createdAt: iso,
      deliveredAt: deliveredAt.toISOString(),
    });

    // This month: a whole billing period (BILLING_PERIOD is month here), and still open.
    const now = new Date();
    const first = (month: number) => new Date(Date.UTC(now.getUTCFullYear(), month, 1)).toISOString().slice(0, 10);
    const open = (await admin
      .runBilling({ periodStart: first(now.getUTCMonth()), periodEnd: first(now.getUTCMonth() + 1) })
      .catch((e: unknown) => e)) as HTTPError;
    expect(open).toBeInstanceOf(HTTPError);
    expect(open.status).toBe(409);
  });
});
