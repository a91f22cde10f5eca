// The stream consumer against the local Redis and a scratch Postgres: usage written by the
// Redis limiter lands in Postgres once, is acknowledged only after commit, and survives a
// consumer that died holding entries.

import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createScratchDatabase, type ScratchDatabase } from "../../scripts/lib/scratch-database";
import type { TenantLimits } from "../../src/core/limits";
import type { DatabaseHandle } from "../../src/db/database";
import { openNodeDatabase } from "../../src/db/node";
import { deadLetterKey, INGEST_GROUP, tenantKeys } from "../../src/redis/keys";
import { RedisClient } from "../../src/redis/resp/client";
import { nodeSocket } from "../../src/redis/resp/node-socket";
import { UsageStreamConsumer } from "../../src/redis/usage-stream-consumer";
import { dropPrefix, type RedisHarness, redisHarness } from "../limiter/conformance/redis-harness";
import { leaseReportEntry } from "../support/lease-report-entry";

const REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0";
const prefix = `aegis-test-${crypto.randomUUID().slice(0, 8)}`;
const redis = new RedisClient({ url: REDIS_URL, connect: nodeSocket, commandTimeoutMs: 5_000 });
let scratch: ScratchDatabase;
let database: DatabaseHandle & { pool: pg.Pool };
let shared: DatabaseHandle;
let h: RedisHarness;

const limits: TenantLimits = {
  ratePerMinute: 0,
  burst: 10_000,
  dailyUnits: null,
  timeZone: "UTC",
  shadow: false,
  routes: {},
};

beforeAll(async () => {
  scratch = await createScratchDatabase("aegis_stream");
  database = openNodeDatabase(scratch.url, 4);
  shared = { db: database.db, close: async () => {} };
  h = redisHarness(redis, prefix);
}, 60_000);

afterAll(async () => {
  await dropPrefix(redis, prefix);
  await redis.close();
  await database?.close();
  await scratch?.drop();
});

const consumerNamed = (consumer: string, extra: Partial<ConstructorParameters<typeof UsageStreamConsumer>[0]> = {}) =>
  new UsageStreamConsumer({ redis, prefix, consumer, openDatabase: () => shared, registryRefreshMs: 0, ...extra });

async function storedUnits(tenantId: string): Promise<{ rows: number; units: number; daily: number }> {
  const r = await database.pool.query(
    `SELECT count(*)::int AS rows, coalesce(sum(units), 0)::int AS units,
            (SELECT coalesce(sum(units), 0)::int FROM usage_daily WHERE tenant_id = $1) AS daily
       FROM usage_records WHERE tenant_id = $1`,
    [tenantId],
  );
  return r.rows[0];
}

async function calls(tenant: { tenantId: string; keyHash: string }, n: number, cost: number) {
  for (let i = 0; i < n; i++) {
    const r = await h.store.check(tenant.tenantId, { keyHash: tenant.keyHash, route: "chat", cost });
    if (r.status !== "ok" || !r.decision.allowed) throw new Error("expected an admitted call");
  }
}

const xlen = async (tenantId: string) => Number(await redis.send(["XLEN", tenantKeys(prefix, tenantId).stream]));

describe("usage stream consumer", () => {
  it("stores every tenant's usage once, then acknowledges and deletes it from the stream", async () => {
    h.now.ms = Date.now();
    const a = await h.createTenant(limits);
    const b = await h.createTenant(limits);
    await calls(a, 30, 2);
    await calls(b, 5, 7);
    const consumer = consumerNamed("c1");
    const before = Date.now();
    const first = await consumer.poll();
    // Both tenants' streams are read in one round: one batch.
    expect(first).toMatchObject({ read: 35, batches: 1, stored: 35, duplicates: 0, deadLettered: 0, retried: 0 });
    // The oldest entry's id says when it was written: this test wrote it just before.
    expect(first.oldestMs).toBeGreaterThan(before - 60_000);
    expect(first.oldestMs).toBeLessThanOrEqual(Date.now());
    expect(await storedUnits(a.tenantId)).toEqual({ rows: 30, units: 60, daily: 60 });
    expect(await storedUnits(b.tenantId)).toEqual({ rows: 5, units: 35, daily: 35 });
    expect(await xlen(a.tenantId)).toBe(0);
    expect(await consumer.poll()).toMatchObject({ read: 0, batches: 0, oldestMs: null });
  });

  it("claims what a crashed consumer read but never acknowledged, and stores it once", async () => {
    h.now.ms = Date.now();
    const t = await h.createTenant(limits);
    const stream = tenantKeys(prefix, t.tenantId).stream;
    // The group exists once any consumer has polled.
    await consumerNamed("setup").poll();
    await calls(t, 12, 3);
    // A consumer reads the entries and dies before storing them.
    const read = (await redis.send([
      "XREADGROUP",
      "GROUP",
      INGEST_GROUP,
      "dead",
      "COUNT",
      100,
      "STREAMS",
      stream,
      ">",
    ])) as [string, unknown[]][];
    expect(read[0]?.[1]).toHaveLength(12);
    // Another consumer, once the entries have sat idle long enough, takes them over.
    const rescuer = consumerNamed("rescuer", { claimIdleMs: 0 });
    const r = await rescuer.poll();
    expect(r.stored).toBe(12);
    expect(await storedUnits(t.tenantId)).toEqual({ rows: 12, units: 36, daily: 36 });
    const pending = (await redis.send(["XPENDING", stream, INGEST_GROUP])) as unknown[];
    expect(pending[0]).toBe(0);
    expect(await xlen(t.tenantId)).toBe(0);
  });

  it("re-reads its own pending entries after a restart under the same name", async () => {
    h.now.ms = Date.now();
    const t = await h.createTenant(limits);
    const stream = tenantKeys(prefix, t.tenantId).stream;
    await consumerNamed("setup").poll();
    await calls(t, 4, 5);
    await redis.send(["XREADGROUP", "GROUP", INGEST_GROUP, "instance-1", "COUNT", 100, "STREAMS", stream, ">"]);
    const restarted = consumerNamed("instance-1");
    expect((await restarted.poll()).stored).toBe(4);
    expect(await storedUnits(t.tenantId)).toMatchObject({ units: 20 });
  });

  it("keeps entries pending while Postgres is down, and stores them when it is back", async () => {
    h.now.ms = Date.now();
    const t = await h.createTenant(limits);
    await consumerNamed("setup").poll();
    await calls(t, 7, 1);
    const down = openNodeDatabase("postgres://postgres@127.0.0.1:1/none", 1);
    let handle: DatabaseHandle = { db: down.db, close: async () => {} };
    const consumer = new UsageStreamConsumer({
      redis,
      prefix,
      consumer: "flaky",
      openDatabase: () => handle,
      registryRefreshMs: 0,
      // Small pages: the backlog read while Postgres was down is longer than one page.
      perStream: 2,
    });
    let failed = 0;
    for (let i = 0; i < 4; i++) {
      const r = await consumer.poll();
      expect(r.stored).toBe(0);
      failed += r.retried;
    }
    expect(failed).toBeGreaterThanOrEqual(7);
    expect(await xlen(t.tenantId)).toBe(7);
    await down.close();
    handle = shared;
    // Every pending page is re-read, not only the first.
    let stored = 0;
    for (let i = 0; i < 6 && stored < 7; i++) stored += (await consumer.poll()).stored;
    expect(stored).toBe(7);
    expect(await storedUnits(t.tenantId)).toMatchObject({ rows: 7, units: 7 });
    expect(await xlen(t.tenantId)).toBe(0);
  });

  it("stores each entry's dimensions, and an entry from before them as one request of no model, no tokens", async () => {
    h.now.ms = Date.now();
    const t = await h.createTenant(limits);
    const stream = tenantKeys(prefix, t.tenantId).stream;
    const reserved = await h.store.check(t.tenantId, { keyHash: t.keyHash, route: "chat", cost: 10, reserve: true });
    if (reserved.status !== "ok" || !reserved.reservation) throw new Error("expected a reservation");
    const usage = { model: "gpt-4o", inputTokens: 5, outputTokens: 2, cachedInputTokens: 1 };
    await h.store.settle(t.tenantId, reserved.reservation.id, 7, { finish: "stop" }, usage);
    // As the script wrote entries before the dimensions: six parts.
    const old = [`ev_old_${crypto.randomUUID()}`, "chat", "3", String(Date.now()), '{"model":"m-old"}', ""];
    await redis.send(["XADD", stream, "*", "e", old.join("\t")]);
    expect(await consumerNamed("dims").poll()).toMatchObject({ stored: 2, deadLettered: 0 });
    const rows = await database.pool.query(
      `SELECT units::int, model, requests::int, input_tokens::int, output_tokens::int, cached_input_tokens::int,
              estimated, metadata FROM usage_records WHERE tenant_id = $1 ORDER BY units`,
      [t.tenantId],
    );
    const none = { input_tokens: 0, output_tokens: 0, cached_input_tokens: 0, estimated: false };
    expect(rows.rows).toEqual([
      { units: 3, model: null, requests: 1, ...none, metadata: { model: "m-old" } },
      {
        units: 7,
        model: "gpt-4o",
        requests: 1,
        input_tokens: 5,
        output_tokens: 2,
        cached_input_tokens: 1,
        estimated: false,
        metadata: { finish: "stop" },
      },
    ]);
  });

  it("stores leases' reports (an entry of many events each) in batches of at most 10,000 events, each event once", async () => {
    h.now.ms = Date.now();
    const t = await h.createTenant({ ...limits, leases: true });
    // Twelve reports of 1,000 calls each, as the Redis store writes them.
    for (let r = 0; r < 12; r++) {
      const report = {
        leaseId: `ls_${crypto.randomUUID()}`,
        seq: 1,
        calls: Array.from({ length: 1_000 }, () => ({ units: 1, occurredAt: h.now.ms })),
      };
      const stream = tenantKeys(prefix, t.tenantId).stream;
      await redis.send(["XADD", stream, "*", ...leaseReportEntry("chat", report)]);
    }
    const polled = await consumerNamed("leases").poll();
    expect(polled).toMatchObject({ read: 12, stored: 12_000, deadLettered: 0 });
    expect(polled.batches).toBeGreaterThanOrEqual(2);
    expect(await storedUnits(t.tenantId)).toMatchObject({ rows: 12_000, units: 12_000 });
    expect(await xlen(t.tenantId)).toBe(0);
  });

  it("dead-letters a malformed entry, acknowledges it, and stores the rest", async () => {
    h.now.ms = Date.now();
    const t = await h.createTenant(limits);
    const stream = tenantKeys(prefix, t.tenantId).stream;
    await calls(t, 2, 4);
    await redis.send(["XADD", stream, "*", "e", ["ev_broken", "chat", "lots", String(Date.now()), "", ""].join("\t")]);
    const r = await consumerNamed("c2").poll();
    expect(r).toMatchObject({ stored: 2, deadLettered: 1 });
    const letters = (await redis.send(["XRANGE", deadLetterKey(prefix), "-", "+"])) as [string, string[]][];
    const letter = JSON.parse(letters.at(-1)?.[1][1] ?? "{}");
    expect(letter.events[0]).toMatchObject({ eventId: "ev_broken", tenantId: t.tenantId });
    expect(letter.reason).toMatch(/units/);
    expect(await xlen(t.tenantId)).toBe(0);
  });
});
