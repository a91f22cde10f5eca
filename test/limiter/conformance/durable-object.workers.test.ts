// The conformance suite against the TenantLimiter Durable Object, in workerd, with tenants
// made and changed through the real operator API (Postgres, then a push).

import { runInDurableObject } from "cloudflare:test";
import { eq, like } from "drizzle-orm";
import { expect } from "vitest";
import { alertDeliveryId, type QuotaAlert } from "../../../src/core/quota-alerts";
import { sha256Hex } from "../../../src/core/secrets";
import type { UsageEvent } from "../../../src/core/usage-event";
import { usageRecords, webhookDeliveries } from "../../../src/db/schema";
import { durableObjectStore } from "../../../src/durable/durable-object-store";
import type { TenantLimiter } from "../../../src/tenant-limiter";
import {
  admin,
  env,
  eventually,
  limiterStub,
  newTenant,
  seedTenantInPostgresOnly,
  withDb,
} from "../../support/workers/helpers";
import { type ConformanceHarness, limiterConformance } from "./limiter-conformance";

/** The limiter's outbox as it wrote it: usage events, and quota alerts as `{alert}` rows. */
const outboxRowsOf = (tenantId: string) =>
  runInDurableObject(limiterStub(tenantId), (_: TenantLimiter, state) => {
    const sql = state.storage.sql;
    if (sql.exec("SELECT 1 FROM sqlite_master WHERE name = 'outbox'").toArray().length === 0) return [];
    return sql
      .exec("SELECT event FROM outbox ORDER BY seq")
      .toArray()
      .map((r) => JSON.parse(String(r.event)) as UsageEvent | { alert: QuotaAlert });
  });

/** The events still in the limiter's outbox. */
const outboxOf = async (tenantId: string) => (await outboxRowsOf(tenantId)).flatMap((r) => ("alert" in r ? [] : [r]));

/** The quota alerts still in the limiter's outbox. */
const outboxAlertsOf = async (tenantId: string) =>
  (await outboxRowsOf(tenantId)).flatMap((r) => ("alert" in r ? [r.alert] : []));

/**
 * The events the alarm has already sent, as Postgres stored them: the outbox flushes a second
 * after its first event, so a test's events may be on either side. (Postgres cannot tell an
 * absent field from its default; the outbox's events show that the fields are there.)
 */
const storedOf = (tenantId: string) =>
  withDb(async (db) =>
    (await db.select().from(usageRecords).where(eq(usageRecords.tenantId, tenantId))).map(
      (r): UsageEvent => ({
        eventId: r.eventId,
        tenantId: r.tenantId,
        route: r.route,
        units: r.units,
        occurredAt: r.occurredAt.getTime(),
        ...(r.metadata ? { metadata: r.metadata as UsageEvent["metadata"] } : {}),
        model: r.model,
        requests: r.requests,
        inputTokens: r.inputTokens,
        outputTokens: r.outputTokens,
        cachedInputTokens: r.cachedInputTokens,
        ...(r.estimated ? { estimated: true } : {}),
      }),
    ),
  );

/** The quota alerts the consumer has written to the webhook outbox, as alerts again. */
const storedAlertsOf = (tenantId: string) =>
  withDb(async (db) =>
    (
      await db
        .select()
        .from(webhookDeliveries)
        .where(like(webhookDeliveries.id, `msg_qt_${tenantId}_%`))
    ).map((r): QuotaAlert => {
      const p = r.payload as { timestamp: string; data: Omit<QuotaAlert, "at"> };
      return { ...p.data, at: Date.parse(p.timestamp) };
    }),
  );

const keyIds = new Map<string, string>();

const harness: ConformanceHarness = {
  store: durableObjectStore(env.TENANT_LIMITER),
  reservationTtlMs: 900_000,
  async createTenant(limits) {
    const { id, key, keyId } = await newTenant(limits);
    keyIds.set(id, keyId);
    return { tenantId: id, keyHash: await sha256Hex(key) };
  },
  async createColdTenant(limits) {
    const { id, key } = await seedTenantInPostgresOnly(limits);
    return { tenantId: id, keyHash: await sha256Hex(key) };
  },
  async setNow(t, ms) {
    await runInDurableObject(limiterStub(t.tenantId), (instance: TenantLimiter) => {
      instance.clock = () => ms;
    });
  },
  async revokeKey(t) {
    const res = await admin(`/tenants/${t.tenantId}/keys/${keyIds.get(t.tenantId)}`, { method: "DELETE" });
    if (!res.ok) throw new Error(`revoke: ${res.status} ${await res.text()}`);
  },
  async setOverride(t, quota, until) {
    const res = await admin(`/tenants/${t.tenantId}/override`, {
      method: "PUT",
      json: { quota, until: new Date(until).toISOString() },
    });
    if (!res.ok) throw new Error(`override: ${res.status} ${await res.text()}`);
  },
  async setKeyLimits(t, limits) {
    const res = await admin(`/tenants/${t.tenantId}/keys/${keyIds.get(t.tenantId)}`, {
      method: "PATCH",
      json: { limits },
    });
    if (!res.ok) throw new Error(`key limits: ${res.status} ${await res.text()}`);
  },
  async suspend(t) {
    const res = await admin(`/tenants/${t.tenantId}`, { method: "PATCH", json: { status: "suspended" } });
    if (!res.ok) throw new Error(`suspend: ${res.status} ${await res.text()}`);
  },
  events: (t, count) =>
    eventually(async () => {
      // The outbox first: an event that leaves it after this read is in Postgres, or soon will be.
      const byId = new Map((await outboxOf(t.tenantId)).map((e) => [e.eventId, e]));
      for (const e of await storedOf(t.tenantId)) if (!byId.has(e.eventId)) byId.set(e.eventId, e);
      expect(byId.size).toBeGreaterThanOrEqual(count);
      return [...byId.values()];
    }),
  alerts: (t, count) =>
    eventually(async () => {
      // The outbox as it is, duplicates and all, then what has left it (stored once per id).
      const pending = await outboxAlertsOf(t.tenantId);
      const ids = new Set(pending.map(alertDeliveryId));
      const stored = (await storedAlertsOf(t.tenantId)).filter((a) => !ids.has(alertDeliveryId(a)));
      const all = [...pending, ...stored];
      expect(all.length).toBeGreaterThanOrEqual(count);
      return all;
    }),
  async sweep(t) {
    // The alarm's work, now: the limiter's clock is the test's, its alarm runs on real time.
    await runInDurableObject(limiterStub(t.tenantId), (instance: TenantLimiter) => instance.alarm());
  },
};

limiterConformance("Durable Object (workerd)", () => harness, { settleMany: true, leases: true });
