// Conservation: every admitted call becomes exactly one usage record, and the units billed
// are the units the limiter enforced.

import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { usageDaily, usageRecords } from "../../src/db/schema";
import type { TenantLimiter } from "../../src/tenant-limiter";
import { call, eventually, limiterStub, newTenant, usedToday, withDb } from "../support/workers/helpers";

const CLIENTS = 50;
const CALLS_PER_CLIENT = 20;

/** A mix of replies: JSON usage, a usage header, SSE usage, upstream failures, and no report at all. */
function shape(i: number): { path: string; init?: RequestInit } {
  switch (i % 6) {
    case 0:
      return { path: `/v1/chat/completions?tokens=${1 + (i % 9)}` };
    case 1:
      return { path: `/v1/chat/completions?units=${i % 4}` };
    case 2:
      return { path: `/v1/chat/completions?sse=1&tokens=${2 + (i % 5)}` };
    case 3:
      return { path: "/v1/chat/completions?status=500" };
    case 4:
      return { path: "/v1/embeddings?plain=1", init: { method: "GET", body: null } };
    default:
      return { path: `/v1/other?tokens=${i % 3}` };
  }
}

describe("conservation", () => {
  it("1,000 calls from 50 concurrent clients: usage_daily = usage_records = the units the limiter counted", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 100_000, dailyUnits: 1_500 });
    // A fixed instant, so that midnight cannot fall inside the test.
    const now = Date.UTC(2026, 10, 29, 12);
    await runInDurableObject(limiterStub(t.id), (instance: TenantLimiter) => {
      instance.clock = () => now;
    });

    let admitted = 0;
    let limited = 0;
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, client) => {
        for (let n = 0; n < CALLS_PER_CLIENT; n++) {
          const { path, init } = shape(client * CALLS_PER_CLIENT + n);
          const res = await call(t.key, path, init);
          await res.arrayBuffer();
          if (res.status === 429) limited++;
          else admitted++;
        }
      }),
    );
    expect(admitted + limited).toBe(1_000);
    expect(admitted).toBeGreaterThan(0);
    expect(limited).toBeGreaterThan(0); // the quota did bite

    // Every admitted call settles (in waitUntil, after its reply ended).
    const held = () =>
      runInDurableObject(limiterStub(t.id), (_: TenantLimiter, state) =>
        Number(state.storage.sql.exec("SELECT count(*) AS n FROM reservations").one().n),
      );
    await eventually(async () => expect(await held()).toBe(0), 30_000);
    const enforced = await usedToday(t.id);
    console.log(JSON.stringify({ conservation: { admitted, limited, enforcedUnits: enforced } }));

    await runDurableObjectAlarm(limiterStub(t.id));
    const totals = await eventually(async () => {
      const [records] = await withDb((db) =>
        db
          .select({ n: sql<string>`count(*)`, units: sql<string>`coalesce(sum(${usageRecords.units}), 0)` })
          .from(usageRecords)
          .where(eq(usageRecords.tenantId, t.id)),
      );
      expect(Number(records?.n)).toBe(admitted);
      return records;
    }, 30_000);
    const [daily] = await withDb((db) =>
      db
        .select({
          units: sql<string>`coalesce(sum(${usageDaily.units}), 0)`,
          requests: sql<string>`coalesce(sum(${usageDaily.requests}), 0)`,
        })
        .from(usageDaily)
        .where(eq(usageDaily.tenantId, t.id)),
    );
    expect(Number(totals?.units)).toBe(enforced);
    expect(Number(daily?.units)).toBe(enforced);
    expect(Number(daily?.requests)).toBe(admitted);
  }, 120_000);
});
