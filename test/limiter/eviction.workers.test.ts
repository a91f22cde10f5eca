// A tenant's limiter evicted while calls run against it. Workers evict a Durable Object
// whenever they like (idle, a deploy, a host move): only what is in its storage survives.
// Held reservations, unsent usage events and idempotency keys must all be there afterwards,
// and no call may be counted twice, in the limiter or in Postgres.

import {
  abortAllDurableObjects,
  evictDurableObject,
  runDurableObjectAlarm,
  runInDurableObject,
  SELF,
} from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, inject, it } from "vitest";
import { usageRecords } from "../../src/db/schema";
import type { TenantLimiter } from "../../src/tenant-limiter";
import { noonZone } from "../support/noon-zone";
import { BASE, call, eventually, limiterStub, newTenant, usedToday, withDb } from "../support/workers/helpers";

/** Streams held open across the evictions, each with its own units so its record can be told apart. */
const HELD = 6;
const CALLS = 200;
/** Evictions after this many of the concurrent calls have answered. */
const EVICT_AFTER = [40, 110];
/** Report calls reuse these many idempotency keys, so each key is sent twice, concurrently. */
const REPORT_KEYS = 25;

// Evictions reset the limiter's injected clock, and calls reach the new instance before a
// test could set it again, so the load test runs on the real clock, in a zone where it is
// about noon (noonZone): the tenant's daily count cannot reset under it.

const inLimiter = <T>(tenantId: string, query: string, read: (row: Record<string, SqlStorageValue>) => T) =>
  runInDurableObject(limiterStub(tenantId), (_: TenantLimiter, state) =>
    state.storage.sql.exec(query).toArray().map(read),
  );
const reservationIds = (tenantId: string) =>
  inLimiter(tenantId, "SELECT id FROM reservations ORDER BY id", (r) => String(r.id));
const outboxEventIds = (tenantId: string) =>
  inLimiter(tenantId, "SELECT event FROM outbox ORDER BY seq", (r) => JSON.parse(String(r.event)).eventId as string);

function report(key: string, idempotencyKey: string, units: number) {
  return SELF.fetch(`${BASE}/account/v1/usage`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ units, idempotencyKey }),
  });
}

async function recordsOf(tenantId: string) {
  return withDb((db) =>
    db
      .select({ eventId: usageRecords.eventId, units: usageRecords.units })
      .from(usageRecords)
      .where(eq(usageRecords.tenantId, tenantId)),
  );
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);

/** Reads a stream to its end; the echo upstream sends a handful of chunks, so 100 is plenty. */
async function readToEnd(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  for (let n = 0; n < 100; n++) if ((await reader.read()).done) return;
  throw new Error("the stream did not end within 100 chunks");
}

describe("eviction under load", () => {
  it("keeps held reservations, the outbox and idempotency keys; nothing is counted twice", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 100, dailyUnits: 1_000_000, timeZone: noonZone() });
    const stub = limiterStub(t.id);

    // Streams whose upstream holds them open: each call's reservation stays in the limiter.
    const holds = Array.from({ length: HELD }, (_, h) => ({ id: `h${h}-${crypto.randomUUID()}`, units: 100 + h }));
    const streams = await Promise.all(
      holds.map(async ({ id, units }) => {
        const res = await call(t.key, `/v1/chat/completions?sse=1&tokens=${units}&hold=${id}`);
        expect(res.status).toBe(200);
        const reader = (res.body as ReadableStream<Uint8Array>).getReader();
        expect(new TextDecoder().decode((await reader.read()).value)).toContain("first");
        return reader;
      }),
    );
    const held = await reservationIds(t.id);
    expect(held).toHaveLength(HELD);

    // The load: proxied calls (JSON, SSE, a usage header) and reports, each key sent twice.
    // `units` is what the call is billed if admitted; every response is kept for the tally.
    const instances: unknown[] = [];
    await runInDurableObject(stub, (instance: TenantLimiter) => void instances.push(instance));
    let answered = 0;
    const evictions: Promise<void>[] = [];
    const onAnswer = () => {
      answered++;
      // Woken first: with settles batched, the object can be idle between calls, and only a
      // running object can be evicted.
      if (EVICT_AFTER.includes(answered)) {
        evictions.push(runInDurableObject(stub, () => {}).then(() => evictDurableObject(stub)));
      }
    };
    const outcomes = await Promise.all(
      Array.from({ length: CALLS }, async (_, i) => {
        const units = 1 + (i % 9);
        let res: Response;
        if (i % 4 === 3) {
          const k = (i >> 2) % REPORT_KEYS;
          res = await report(t.key, `job-${k}`, 10 + k);
          const body = (await res.json()) as { eventId?: string; duplicate?: boolean };
          onAnswer();
          return { kind: "report" as const, status: res.status, units: 10 + k, key: k, ...body };
        }
        const query = [`tokens=${units}`, `sse=1&tokens=${units}`, `units=${units}`][i % 4];
        res = await call(t.key, `/v1/chat/completions?${query}`);
        await res.arrayBuffer();
        onAnswer();
        return { kind: "proxy" as const, status: res.status, units };
      }),
    );
    await Promise.all(evictions);
    expect(evictions).toHaveLength(EVICT_AFTER.length);

    // Every answer is an admission or a refusal by the limits: an eviction is not an outage.
    expect(outcomes.filter((o) => ![200, 202, 429].includes(o.status))).toEqual([]);
    const proxied = outcomes.filter((o) => o.kind === "proxy");
    const admittedUnits = proxied.filter((o) => o.status === 200).map((o) => o.units);
    expect(admittedUnits.length).toBeGreaterThan(0);
    expect(proxied.some((o) => o.status === 429)).toBe(true); // the bucket did bite
    // Each report key: exactly one 202 (recorded), and its other sending a 200 duplicate of the same event.
    const reports = outcomes.filter((o) => o.kind === "report");
    const firstEvent = new Map<number, string>();
    for (const k of Array.from({ length: REPORT_KEYS }, (_, k) => k)) {
      const sent = reports.filter((o) => o.key === k);
      expect(sent.map((o) => o.status).sort()).toEqual([200, 202]);
      expect(sent.map((o) => o.duplicate).sort()).toEqual([false, true]);
      expect(new Set(sent.map((o) => o.eventId)).size).toBe(1);
      firstEvent.set(k, sent[0]?.eventId as string);
    }
    const reportUnits = [...firstEvent.keys()].map((k) => 10 + k);

    // Every unheld call has settled (in waitUntil, after its reply ended).
    await eventually(async () => expect(await reservationIds(t.id)).toEqual(held));
    // One more eviction, with nothing in flight, to compare what storage holds either side of it.
    const outboxBefore = await outboxEventIds(t.id);
    await evictDurableObject(stub);
    await runInDurableObject(stub, (instance: TenantLimiter) => void instances.push(instance));
    expect(instances[1]).not.toBe(instances[0]); // a new object, built from storage alone
    expect(await reservationIds(t.id)).toEqual(held);
    // Unsent events are still there, unless the alarm sent them meanwhile: then Postgres has them.
    const outboxAfter = new Set(await outboxEventIds(t.id));
    const sent = outboxBefore.filter((id) => !outboxAfter.has(id));
    await eventually(async () => {
      const stored = new Set((await recordsOf(t.id)).map((r) => r.eventId));
      expect(sent.filter((id) => !stored.has(id))).toEqual([]);
    });

    // A retried report after the evictions is a duplicate, and counts nothing.
    const usedBefore = await usedToday(t.id);
    const again = await report(t.key, "job-0", 10);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ eventId: firstEvent.get(0), duplicate: true });
    expect(await usedToday(t.id)).toBe(usedBefore);
    // So far each held stream counts its estimate of 1 unit.
    expect(usedBefore).toBe(sum(admittedUnits) + sum(reportUnits) + HELD);

    // The held streams end now, after the evictions: their reservations settle to their units.
    for (const { id } of holds) await fetch(`${inject("upstreamUrl")}/release?id=${id}`);
    for (const reader of streams) await readToEnd(reader);
    await eventually(async () => expect(await reservationIds(t.id)).toEqual([]));
    const heldUnits = holds.map((h) => h.units);
    expect(await usedToday(t.id)).toBe(sum(admittedUnits) + sum(reportUnits) + sum(heldUnits));

    // Flush and consume: one record per admitted call, each with its own units. (The alarm
    // may have run by itself already; then this finds none due, and the consumer has the events.)
    await runDurableObjectAlarm(stub);
    const records = await eventually(async () => {
      const r = await recordsOf(t.id);
      expect(r).toHaveLength(admittedUnits.length + REPORT_KEYS + HELD);
      return r;
    }, 20_000);
    expect(sorted(records.map((r) => Number(r.units)))).toEqual(
      sorted([...admittedUnits, ...reportUnits, ...heldUnits]),
    );
    const ids = new Set(records.map((r) => r.eventId));
    for (const eventId of firstEvent.values()) expect(ids.has(eventId)).toBe(true);
    expect(await outboxEventIds(t.id)).toEqual([]);
  }, 90_000);
});

/** RESERVATION_TTL_SECONDS (its default; the test config does not set it), in ms. */
const TTL_MS = 900_000;
/** A fixed instant for the limiter's clock: no midnight falls inside these tests. */
const START = Date.UTC(2026, 10, 29, 10);

/** Sets the limiter's clock. An eviction resets it, so it is set again after each one. */
const setClock = (tenantId: string, at: number) =>
  runInDurableObject(limiterStub(tenantId), (instance: TenantLimiter) => {
    instance.clock = () => at;
  });
const outboxUnits = (tenantId: string) =>
  inLimiter(tenantId, "SELECT event FROM outbox ORDER BY seq", (r) => JSON.parse(String(r.event)).units as number);
/**
 * Settles inside the object and reads the outbox in the same turn, before any alarm can
 * flush it: what the settle appended is exactly what is there.
 */
const settleAndPeek = (tenantId: string, id: string, units: number) =>
  runInDurableObject(limiterStub(tenantId), async (instance: TenantLimiter, state) => ({
    result: await instance.settle(id, units),
    outbox: state.storage.sql
      .exec("SELECT event FROM outbox ORDER BY seq")
      .toArray()
      .map((r) => JSON.parse(String(r.event)).units as number),
  }));
/** Runs the alarm's work (expiry sweep, flush) now, whether or not an alarm is due. */
const sweep = (tenantId: string) => runInDurableObject(limiterStub(tenantId), (i: TenantLimiter) => i.alarm());

async function reserve(tenantId: string, cost: number): Promise<string> {
  const checked = await limiterStub(tenantId).check({ route: "chat", cost, reserve: true });
  if (checked.status !== "ok" || !checked.reservation) throw new Error(`expected a reservation: ${checked.status}`);
  expect(checked.reservation.expiresAt).toBe(START + TTL_MS);
  return checked.reservation.id;
}

/** Waits until the consumer has stored the tenant's usage, and returns its units. */
const storedUnits = (tenantId: string, n: number) =>
  eventually(async () => {
    const r = await recordsOf(tenantId);
    expect(r).toHaveLength(n);
    return r.map((x) => Number(x.units));
  }, 20_000);

describe("a reservation whose Worker never settles, across an eviction", () => {
  it("expires at its estimate, recorded once by the alarm; a settle that comes later records nothing", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 100, dailyUnits: 1_000 });
    const stub = limiterStub(t.id);
    await setClock(t.id, START);
    // The Worker's check, as the proxy makes it; then the Worker dies and never settles.
    const id = await reserve(t.id, 5);
    await evictDurableObject(stub);
    expect(await reservationIds(t.id)).toEqual([id]);

    await setClock(t.id, START + TTL_MS);
    expect(await runDurableObjectAlarm(stub)).toBe(true); // the expiry alarm outlived the eviction
    expect(await reservationIds(t.id)).toEqual([]);
    expect(await usedToday(t.id)).toBe(5);
    expect(await storedUnits(t.id, 1)).toEqual([5]);

    // The Worker's settle arrives after all: the alarm already recorded the reservation.
    expect(await settleAndPeek(t.id, id, 2)).toEqual({ result: { status: "unknown" }, outbox: [] });
    expect(await usedToday(t.id)).toBe(5);
    await sweep(t.id);
    expect(await storedUnits(t.id, 1)).toEqual([5]);
  });

  it("survives a crash-style abort of the object: the reservation and the outbox are kept, and recorded once", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 100, dailyUnits: 1_000 });
    const stub = limiterStub(t.id);
    await setClock(t.id, START);
    // One call recorded at once (its event waits in the outbox), one held as a reservation.
    const recorded = await stub.check({ route: "chat", cost: 3 });
    expect(recorded.status).toBe("ok");
    const id = await reserve(t.id, 5);
    expect(await outboxUnits(t.id)).toEqual([3]);
    // Not an eviction: every object is torn down as by a crash, with no chance to finish.
    await abortAllDurableObjects();
    expect(await reservationIds(t.id)).toEqual([id]);
    expect(await outboxUnits(t.id)).toEqual([3]);

    await setClock(t.id, START + TTL_MS);
    await sweep(t.id);
    expect(await reservationIds(t.id)).toEqual([]);
    expect(await usedToday(t.id)).toBe(8);
    expect((await storedUnits(t.id, 2)).sort((a, b) => a - b)).toEqual([3, 5]);
    await sweep(t.id);
    expect((await storedUnits(t.id, 2)).sort((a, b) => a - b)).toEqual([3, 5]);
  });

  it("a settle after expiry but before the alarm answers expired, records the estimate once, and the alarm adds nothing", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 100, dailyUnits: 1_000 });
    const stub = limiterStub(t.id);
    await setClock(t.id, START);
    const id = await reserve(t.id, 5);
    await evictDurableObject(stub);
    await setClock(t.id, START + TTL_MS);

    // The estimate is recorded, not the late 2; and the reservation is gone, so the alarm
    // has nothing left to record again.
    expect(await settleAndPeek(t.id, id, 2)).toEqual({ result: { status: "expired" }, outbox: [5] });
    expect(await reservationIds(t.id)).toEqual([]);
    expect(await usedToday(t.id)).toBe(5);
    await sweep(t.id);
    expect(await settleAndPeek(t.id, id, 2)).toEqual({ result: { status: "unknown" }, outbox: [] });
    expect(await storedUnits(t.id, 1)).toEqual([5]);
    expect(await usedToday(t.id)).toBe(5);
  });

  it("a proxied stream dropped mid-way whose upstream outlives the reservation is billed its estimate once", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 100, dailyUnits: 1_000 });
    const stub = limiterStub(t.id);
    await setClock(t.id, START);
    const hold = `h-${crypto.randomUUID()}`;
    const res = await call(t.key, `/v1/chat/completions?sse=1&tokens=64&hold=${hold}`);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("first");
    // The client goes away; the Worker keeps reading the upstream, which is still holding.
    await reader.cancel("client went away");
    const [id] = await reservationIds(t.id);
    expect(id).toBeDefined();
    await evictDurableObject(stub);
    await setClock(t.id, START + TTL_MS);

    // The upstream finishes only now, past the reservation's expiry: the Worker's settle to 64
    // finds it expired, and the chat route's estimate of 1 is what is recorded.
    await fetch(`${inject("upstreamUrl")}/release?id=${hold}`);
    await eventually(async () => expect(await reservationIds(t.id)).toEqual([]));
    expect(await usedToday(t.id)).toBe(1);
    await sweep(t.id);
    expect(await storedUnits(t.id, 1)).toEqual([1]);
    expect(await outboxUnits(t.id)).toEqual([]);
  });
});
