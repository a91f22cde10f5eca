import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { newTenantId } from "../../src/core/secrets";
import { newEventId, type UsageEvent, type UsageMessage } from "../../src/core/usage-event";
import { openNeonDatabase } from "../../src/db/neon";
import { usageDaily, usageRecords } from "../../src/db/schema";
import worker from "../../src/index";
import { consumeUsageBatch, type DeadLetter, ingestIsolating } from "../../src/metering/queue-consumer";
import { env, withDb } from "../support/workers/helpers";

const DAY = Date.UTC(2026, 10, 29, 12);

function events(tenantId: string, n: number, units = (i: number) => 1 + (i % 5)): UsageEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    eventId: newEventId(),
    tenantId,
    route: i % 2 ? "chat" : "embed",
    units: units(i),
    occurredAt: DAY + i,
    metadata: { model: "m1" },
  }));
}

function batchOf(bodies: unknown[], attempts = 1) {
  return createMessageBatch<unknown>(
    "aegis-usage",
    bodies.map((body, i) => ({ id: `msg-${i}-${Math.random()}`, timestamp: new Date(), attempts, body })),
  );
}

async function deliver(bodies: unknown[], targetEnv = env, attempts = 1) {
  const batch = batchOf(bodies, attempts);
  const ctx = createExecutionContext();
  await worker.queue(batch as MessageBatch<UsageMessage>, targetEnv);
  return { batch, result: await getQueueResult(batch, ctx) };
}

async function totals(tenantId: string) {
  return withDb(async (db) => {
    const records = await db
      .select({ units: sql<string>`coalesce(sum(${usageRecords.units}), 0)`, n: sql<string>`count(*)` })
      .from(usageRecords)
      .where(eq(usageRecords.tenantId, tenantId));
    const daily = await db
      .select({
        units: sql<string>`coalesce(sum(${usageDaily.units}), 0)`,
        requests: sql<string>`coalesce(sum(${usageDaily.requests}), 0)`,
      })
      .from(usageDaily)
      .where(eq(usageDaily.tenantId, tenantId));
    return {
      records: Number(records[0]?.n),
      recordUnits: Number(records[0]?.units),
      dailyUnits: Number(daily[0]?.units),
      dailyRequests: Number(daily[0]?.requests),
    };
  });
}

describe("usage queue consumer", () => {
  it("stores a batch once, and a redelivery of the same batch leaves the totals unchanged", async () => {
    const tenant = newTenantId();
    const a = events(tenant, 300);
    const b = events(tenant, 200);
    const bodies = [
      { v: 1, events: a },
      { v: 1, events: b },
    ];
    const first = await deliver(bodies);
    expect(first.result.explicitAcks).toHaveLength(2);
    const expected = { records: 500, recordUnits: [...a, ...b].reduce((s, e) => s + e.units, 0) };
    expect(await totals(tenant)).toEqual({ ...expected, dailyUnits: expected.recordUnits, dailyRequests: 500 });

    const again = await deliver(bodies);
    expect(again.result.explicitAcks).toHaveLength(2);
    expect(await totals(tenant)).toEqual({ ...expected, dailyUnits: expected.recordUnits, dailyRequests: 500 });
  });

  it("keeps the rollup exact when a batch repeats events it already holds", async () => {
    const tenant = newTenantId();
    const evs = events(tenant, 10);
    await deliver([{ v: 1, events: evs.slice(0, 6) }]);
    await deliver([{ v: 1, events: [...evs.slice(4), ...evs.slice(8)] }]);
    const units = evs.reduce((s, e) => s + e.units, 0);
    expect(await totals(tenant)).toEqual({ records: 10, recordUnits: units, dailyUnits: units, dailyRequests: 10 });
  });

  it("retries, never acks, while the database is unreachable; after recovery the totals are exact", async () => {
    const tenant = newTenantId();
    const evs = events(tenant, 50);
    // Nothing listens where the driver is sent: the database cannot be reached at all.
    const down = { ...env, NEON_WS_PROXY: "127.0.0.1:1/v1" };
    const failed = await deliver([{ v: 1, events: evs }], down, 3);
    expect(failed.result.explicitAcks).toEqual([]);
    expect(failed.result.ackAll).toBe(false);
    expect(failed.result.retryMessages).toHaveLength(1);
    expect((await totals(tenant)).records).toBe(0);

    const recovered = await deliver([{ v: 1, events: evs }], env, 4);
    expect(recovered.result.explicitAcks).toHaveLength(1);
    const units = evs.reduce((s, e) => s + e.units, 0);
    expect(await totals(tenant)).toEqual({ records: 50, recordUnits: units, dailyUnits: units, dailyRequests: 50 });
  });

  it("dead-letters a malformed message and stores its good neighbours", async () => {
    const tenant = newTenantId();
    const good = events(tenant, 20);
    const malformed = [
      "not json at all",
      { v: 2, events: good },
      { v: 1, events: [{ ...good[0], units: -5 }] },
      { v: 1, events: [{ ...good[0], tenantId: "nope" }] },
    ];
    const { batch, result } = await deliver([
      { v: 1, events: good.slice(0, 10) },
      ...malformed,
      { v: 1, events: good.slice(10) },
    ]);
    // Every message is acked: the good ones once stored, the bad ones once dead-lettered.
    expect(new Set(result.explicitAcks)).toEqual(new Set(batch.messages.map((m) => m.id)));
    expect(result.retryMessages).toEqual([]);
    const units = good.reduce((s, e) => s + e.units, 0);
    expect(await totals(tenant)).toEqual({ records: 20, recordUnits: units, dailyUnits: units, dailyRequests: 20 });
  });

  it("asks for a growing delay on each retry", async () => {
    const delays: (number | undefined)[] = [];
    const tenant = newTenantId();
    const messages = [1, 3, 9].map((attempts) => ({
      id: `m${attempts}`,
      attempts,
      body: { v: 1, events: events(tenant, 1) },
      ack() {
        throw new Error("must not ack while the database is down");
      },
      retry(options?: { delaySeconds?: number }) {
        delays.push(options?.delaySeconds);
      },
    }));
    const result = await consumeUsageBatch(messages, {
      openDatabase: () => {
        throw new Error("DATABASE_URL is not set");
      },
      deadLetter: async () => {},
    });
    expect(result.retried).toBe(3);
    expect(delays).toEqual([2, 8, 300]);
  });

  it("sends each dead letter with the reason and the original body", async () => {
    const letters: unknown[] = [];
    const tenant = newTenantId();
    const messages = [
      { id: "bad", attempts: 1, body: { v: 1, events: [] }, ack() {}, retry() {} },
      { id: "good", attempts: 1, body: { v: 1, events: events(tenant, 1) }, ack() {}, retry() {} },
    ];
    const result = await consumeUsageBatch(messages, {
      openDatabase: () => openNeonDatabase(env.DATABASE_URL ?? "", env.NEON_WS_PROXY),
      deadLetter: async (m) => {
        letters.push(...m);
      },
    });
    expect(result).toEqual({ stored: 1, duplicates: 0, deadLettered: 1, retried: 0 });
    expect(letters).toEqual([
      { reason: expect.stringContaining("events"), messageId: "bad", original: { v: 1, events: [] } },
    ]);
  });

  it("refuses a bad event alone: its neighbours in the same message are stored", async () => {
    const letters: DeadLetter[] = [];
    const acked: string[] = [];
    const tenant = newTenantId();
    const good = events(tenant, 3);
    const withNul = { ...good[1], metadata: { model: "evil\u0000" } };
    const messages = [
      {
        id: "mixed",
        attempts: 1,
        body: { v: 1, events: [good[0], withNul, good[2]] },
        ack() {
          acked.push("mixed");
        },
        retry() {},
      },
    ];
    const result = await consumeUsageBatch(messages, {
      openDatabase: () => openNeonDatabase(env.DATABASE_URL ?? "", env.NEON_WS_PROXY),
      deadLetter: async (l) => {
        letters.push(...l);
      },
    });
    expect(result).toMatchObject({ stored: 2, deadLettered: 1, retried: 0 });
    expect(acked).toEqual(["mixed"]);
    expect(letters[0]?.events).toEqual([withNul]);
    expect((await totals(tenant)).records).toBe(2);
  });

  it("isolates events Postgres refuses, by halving the batch, and stores the rest", async () => {
    const tenant = newTenantId();
    const batch = events(tenant, 40);
    // Past the schema (this calls the ingest directly), but not storable in jsonb.
    const poison = [5, 22].map((i) => ({ ...(batch[i] as UsageEvent), metadata: { m: "x\u0000" } }));
    batch[5] = poison[0] as UsageEvent;
    batch[22] = poison[1] as UsageEvent;
    const handle = openNeonDatabase(env.DATABASE_URL ?? "", env.NEON_WS_PROXY);
    try {
      const { inserted, refused } = await ingestIsolating(handle.db, batch);
      expect(inserted).toBe(38);
      expect(refused.map((r) => r.event)).toEqual(poison);
      expect(refused[0]?.reason).toMatch(/^22/);
    } finally {
      await handle.close();
    }
    expect((await totals(tenant)).records).toBe(38);
  });
});
