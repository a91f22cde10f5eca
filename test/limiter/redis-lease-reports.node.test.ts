// A lease's report on the local Redis, in both of its stream formats: the compact lines a
// store writes with compactReports (RATE_LIMIT_REDIS_COMPACT_REPORTS), and the lines with an
// event id each that it writes by default, which versions before the compact lines read.
// Either way the stream consumer's reader makes one event per call, with the same ids, so
// turning the switch on changes no bill; and a report sent again is applied once.

import { describe, expect, it } from "vitest";
import { newLeaseId } from "../../src/core/lease-grant";
import type { LeasedCall } from "../../src/core/limiter-store";
import { tenantKeys } from "../../src/redis/keys";
import { RedisLimiterStore } from "../../src/redis/redis-limiter-store";
import type { RedisReply } from "../../src/redis/resp/index";
import { eventBodyOf } from "../../src/redis/usage-stream-entry";
import { redisHarness } from "./conformance/redis-harness";
import { redisForTests, T0 } from "./redis-node-setup";
import { limits } from "./test-limits";

const { redis, prefix } = redisForTests();

/** Two calls of one lease, a plain one and one with metadata and tokens settled before it. */
const CALLS: LeasedCall[] = [
  { units: 2, occurredAt: T0 + 40 },
  { units: 7, occurredAt: T0 + 5, metadata: { job: "j1" }, usage: { model: "m-1", inputTokens: 3, outputTokens: 4 } },
];

async function reported(compact: boolean) {
  const h = redisHarness(redis, prefix);
  h.now.ms = T0;
  const t = await h.createTenant(limits({ burst: 1_000, dailyUnits: 100_000, leases: true }));
  const store = new RedisLimiterStore({
    redis,
    prefix,
    clock: () => h.now.ms,
    reservationTtlSeconds: 900,
    configRefreshSeconds: 300,
    loadSnapshot: async (id) => h.snapshots.get(id) ?? null,
    compactReports: compact,
  });
  const lease = { id: newLeaseId(), units: 50, requests: 50 };
  const check = await store.check(t.tenantId, { keyHash: t.keyHash, route: "chat", cost: 1, lease });
  if (check.status !== "ok" || !check.lease) throw new Error("no lease granted");
  const report = { leaseId: lease.id, seq: 1, calls: CALLS };
  expect(await store.reportLease(t.tenantId, report)).toEqual({ status: "reported" });
  // Sent again after a lost answer: a duplicate, written nowhere.
  expect(await store.reportLease(t.tenantId, report)).toEqual({ status: "duplicate" });
  const entries = (await redis.send(["XRANGE", tenantKeys(prefix, t.tenantId).stream, "-", "+"])) as [
    string,
    RedisReply[],
  ][];
  const fields = entries.map(([, f]) => f.filter((_, i) => i % 2 === 0).map(String));
  const events = entries.flatMap(
    ([, f]) => (eventBodyOf(t.tenantId, f) as { events: Record<string, unknown>[] }).events,
  );
  return { tenantId: t.tenantId, leaseId: lease.id, fields, events };
}

describe("Redis lease reports", () => {
  it("are written in lines with an event id each by default, and compact when switched on, for the same events", async () => {
    const lines = await reported(false);
    const compact = await reported(true);
    // The check's own call, then the report's entry.
    expect(lines.fields).toEqual([["e"], ["r", "E"]]);
    expect(compact.fields).toEqual([["e"], ["r", "L", "t", "C"]]);
    for (const { tenantId, leaseId, events } of [lines, compact]) {
      expect(events.slice(1)).toEqual([
        {
          eventId: `ev_${leaseId}.1.0`,
          tenantId,
          route: "chat",
          units: 2,
          occurredAt: T0 + 40,
          requests: 1,
          model: null,
          inputTokens: 0,
          outputTokens: 0,
          cachedInputTokens: 0,
        },
        {
          eventId: `ev_${leaseId}.1.1`,
          tenantId,
          route: "chat",
          units: 7,
          occurredAt: T0 + 5,
          metadata: { job: "j1" },
          requests: 1,
          model: "m-1",
          inputTokens: 3,
          outputTokens: 4,
          cachedInputTokens: 0,
        },
      ]);
    }
  });
});
