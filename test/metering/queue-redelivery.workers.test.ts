// Two deliveries of the same usage batch that overlap in time. Queues deliver at least
// once, and a redelivery can start while the first delivery is still inside its
// transaction (a consumer that timed out, a retry racing a slow ack): each event must be
// stored once and the daily rollup must count it once, whichever delivery wins.

import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { newTenantId } from "../../src/core/secrets";
import { newEventId, type UsageEvent, type UsageMessage } from "../../src/core/usage-event";
import { rowsOf } from "../../src/db/database";
import { openNeonDatabase } from "../../src/db/neon";
import { usageDaily, usageRecords } from "../../src/db/schema";
import worker from "../../src/index";
import { type ConsumedMessage, consumeUsageBatch, type DeadLetter } from "../../src/metering/queue-consumer";
import { env, eventually, withDb } from "../support/workers/helpers";

// Fixed instants, two UTC days, so the rollup is checked per day and never straddles midnight.
const DAY_ONE = Date.UTC(2026, 10, 27, 9);
const DAY_TWO = Date.UTC(2026, 10, 28, 9);

/** `n` events over two UTC days and two routes, with units 1..7: four rollup rows to check. */
function eventsFor(tenantId: string, n: number): UsageEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    eventId: newEventId(),
    tenantId,
    route: i % 3 === 0 ? "embed" : "chat",
    units: 1 + (i % 7),
    occurredAt: (i % 2 ? DAY_TWO : DAY_ONE) + i,
  }));
}

/** What usage_daily must hold: units and requests per (day, route), summed in the test. */
function expectedRollup(events: UsageEvent[]): Record<string, { units: number; requests: number }> {
  const out: Record<string, { units: number; requests: number }> = {};
  for (const e of events) {
    const key = `${new Date(e.occurredAt).toISOString().slice(0, 10)} ${e.route}`;
    const row = out[key] ?? { units: 0, requests: 0 };
    out[key] = { units: row.units + e.units, requests: row.requests + 1 };
  }
  return out;
}

async function storedFor(tenantId: string) {
  return withDb(async (db) => {
    const records = await db
      .select({ eventId: usageRecords.eventId, units: usageRecords.units })
      .from(usageRecords)
      .where(eq(usageRecords.tenantId, tenantId));
    const daily = await db
      .select({ day: usageDaily.day, route: usageDaily.route, units: usageDaily.units, requests: usageDaily.requests })
      .from(usageDaily)
      .where(eq(usageDaily.tenantId, tenantId));
    const rollup: Record<string, { units: number; requests: number }> = {};
    for (const r of daily) rollup[`${r.day} ${r.route}`] = { units: Number(r.units), requests: Number(r.requests) };
    return { records, rollup };
  });
}

/**
 * One delivery through the Worker's queue handler, as the Queues runtime would make it. The
 * dead-letter queue binding is swapped for one that keeps what it is sent: the loser of a
 * race must find the events already stored, not refuse them as bad data.
 */
async function deliverThroughWorker(bodies: UsageMessage[]) {
  const batch = createMessageBatch<UsageMessage>(
    "aegis-usage",
    bodies.map((body, i) => ({ id: `m${i}-${crypto.randomUUID()}`, timestamp: new Date(), attempts: 1, body })),
  );
  const deadLetters: unknown[] = [];
  const dlq = { send: async (letter: unknown) => void deadLetters.push(letter) };
  const ctx = createExecutionContext();
  await worker.queue(batch, { ...env, USAGE_DLQ: dlq as unknown as Queue<unknown> });
  return { ids: batch.messages.map((m) => m.id), deadLetters, result: await getQueueResult(batch, ctx) };
}

/**
 * Makes the deliveries overlap for certain: a transaction of the test's own inserts `held`
 * (one of the events, uncommitted) and keeps it until `waiters` of the deliveries' inserts
 * are blocked on it, or on each other, then rolls back. Every delivery is then inside its
 * transaction at once, and the row `held` is inserted by whichever gets there first. Without
 * this, one delivery usually commits before the next has even connected.
 */
async function together<T>(held: UsageEvent, waiters: number, start: () => Promise<T>): Promise<T> {
  let running: Promise<T> | undefined;
  const release = new Error("release the held row");
  await withDb((db) =>
    db.transaction(async (tx) => {
      await tx.execute(sql`
        INSERT INTO usage_records (event_id, tenant_id, route, units, occurred_at)
        VALUES (${held.eventId}, ${held.tenantId}, ${held.route}, ${held.units}, now())`);
      running = start();
      running.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled
      await eventually(async () => {
        const [row] = rowsOf<{ n: number }>(
          // Sessions waiting on this one, directly or through another waiter. (pg_locks is
          // read live; pg_stat_activity would be a snapshot frozen for this transaction.)
          await tx.execute(sql`
            WITH RECURSIVE blocked(pid) AS (
              SELECT pid FROM pg_locks WHERE NOT granted AND pg_backend_pid() = ANY (pg_blocking_pids(pid))
              UNION
              SELECT l.pid FROM pg_locks l JOIN blocked b ON b.pid = ANY (pg_blocking_pids(l.pid)) WHERE NOT l.granted
            )
            SELECT count(*)::int AS n FROM blocked`),
        );
        expect(row?.n).toBeGreaterThanOrEqual(waiters);
      });
      throw release;
    }),
  ).catch((err: unknown) => {
    if (err !== release) throw err;
  });
  return running as Promise<T>;
}

/** Messages for consumeUsageBatch that remember whether they were acked, retried, or neither. */
function trackedMessages(bodies: UsageMessage[]) {
  const outcome: string[] = bodies.map(() => "pending");
  const messages: ConsumedMessage[] = bodies.map((body, i) => ({
    id: `t${i}`,
    attempts: 1,
    body,
    ack: () => {
      outcome[i] = "acked";
    },
    retry: () => {
      outcome[i] = "retried";
    },
  }));
  return { messages, outcome };
}

describe("overlapping deliveries of the same usage batch", () => {
  it("two deliveries through the Worker at once store each event once and roll each up once", async () => {
    const tenant = newTenantId();
    const events = eventsFor(tenant, 600);
    const bodies: UsageMessage[] = [0, 200, 400].map((from) => ({ v: 1, events: events.slice(from, from + 200) }));

    const [a, b] = await together(events[300] as UsageEvent, 2, () =>
      Promise.all([deliverThroughWorker(bodies), deliverThroughWorker(bodies)]),
    );
    // Both deliveries finish normally: each acks every message, neither asks for a retry.
    for (const d of [a, b]) {
      expect(d.deadLetters).toEqual([]);
      expect(d.result.retryMessages).toEqual([]);
      expect(new Set(d.result.explicitAcks)).toEqual(new Set(d.ids));
    }

    const { records, rollup } = await storedFor(tenant);
    expect(records).toHaveLength(600);
    expect(new Set(records.map((r) => r.eventId))).toEqual(new Set(events.map((e) => e.eventId)));
    expect(rollup).toEqual(expectedRollup(events));
    // Spelled out for one row, so a wrong expectation helper could not hide a double count:
    // day one holds the even indexes; "embed" is every third, so day-one embed is i % 6 == 0.
    const dayOneEmbed = events.filter((_, i) => i % 6 === 0);
    expect(dayOneEmbed).toHaveLength(100);
    const [row] = await withDb((db) =>
      db
        .select({ units: usageDaily.units, requests: usageDaily.requests })
        .from(usageDaily)
        .where(and(eq(usageDaily.tenantId, tenant), eq(usageDaily.day, "2026-11-27"), eq(usageDaily.route, "embed"))),
    );
    expect(row && { units: Number(row.units), requests: Number(row.requests) }).toEqual({
      units: dayOneEmbed.reduce((s, e) => s + e.units, 0),
      requests: 100,
    });
  });

  it("three overlapping consumers, the same events in opposite orders: stored once, no dead letters, no retries", async () => {
    const tenant = newTenantId();
    const n = 1_000;
    const events = eventsFor(tenant, n);
    // The same events, in order, reversed, and a middle half: row locks are taken in
    // opposite orders unless the ingest sorts them, which is how concurrent consumers deadlock.
    const deliveries = [events, [...events].reverse(), events.slice(n / 4, (3 * n) / 4)].map((evs) =>
      trackedMessages([
        { v: 1, events: evs.slice(0, Math.ceil(evs.length / 2)) },
        { v: 1, events: evs.slice(Math.ceil(evs.length / 2)) },
      ]),
    );
    const letters: DeadLetter[] = [];
    const results = await together(events[n / 2] as UsageEvent, 3, () =>
      Promise.all(
        deliveries.map((d) =>
          consumeUsageBatch(d.messages, {
            openDatabase: () => openNeonDatabase(env.DATABASE_URL ?? "", env.NEON_WS_PROXY),
            deadLetter: async (l) => {
              letters.push(...l);
            },
          }),
        ),
      ),
    );

    expect(letters).toEqual([]);
    for (const d of deliveries) expect(d.outcome).toEqual(["acked", "acked"]);
    // Every event was seen 1 + 1 + (1 if in the overlap) times; stored exactly once overall,
    // and every other sighting reported as a duplicate, not refused.
    const sightings = n + n + n / 2;
    expect(results.reduce((s, r) => s + r.stored, 0)).toBe(n);
    expect(results.reduce((s, r) => s + r.duplicates, 0)).toBe(sightings - n);
    expect(results.every((r) => r.deadLettered === 0 && r.retried === 0)).toBe(true);

    const { records, rollup } = await storedFor(tenant);
    expect(records).toHaveLength(n);
    expect(records.reduce((s, r) => s + Number(r.units), 0)).toBe(events.reduce((s, e) => s + e.units, 0));
    expect(rollup).toEqual(expectedRollup(events));
  });
});
