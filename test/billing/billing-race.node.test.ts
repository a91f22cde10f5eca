// Two self-hosted instances on one Postgres and one Redis prefix, both running the billing
// tick for a closed period nobody has invoiced yet: self-hosted.ts says a tick on every
// instance is harmless. Exactly one invoice, one invoice.created delivery (and one webhook
// sent), one instance that bills, and the watermark set to the period's end.
//
// The database is this file's own scratch database, so the watermark is too. A gate makes
// the race real: it holds billing_state (which every run reads right after the advisory
// lock) locked until both runs are waiting on a lock, so neither can finish before the
// other has begun, whatever the timing of their connections.

import { sql } from "drizzle-orm";
import { expect, it } from "vitest";
import { createScratchDatabase } from "../../scripts/lib/scratch-database";
import type { InvoiceRunResult } from "../../src/billing/invoice-run";
import { newEventId } from "../../src/core/usage-event";
import { type Database, rowsOf } from "../../src/db/database";
import { openNodeDatabase } from "../../src/db/node";
import { ingestUsage } from "../../src/metering/ingest";
import { RedisClient } from "../../src/redis/resp/client";
import { nodeSocket } from "../../src/redis/resp/node-socket";
import { startSelfHosted } from "../../src/server/self-hosted";
import { dropPrefix } from "../limiter/conformance/redis-harness";
import { startWebhookReceiver } from "../support/webhook-receiver";
import { TEST_WEBHOOK_SECRET } from "../support/webhook-secret";

const ADMIN_TOKEN = "billing-race-admin-token-0123456789";
const SHARED_REDIS = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0";

/**
 * Starts the runs while billing_state is locked, waits until two sessions wait on a lock
 * (pg_locks is read live, unlike pg_stat_activity inside a transaction), then lets them go.
 */
async function race<T>(gate: Database, start: () => Promise<T>[]): Promise<PromiseSettledResult<T>[]> {
  let runs: Promise<PromiseSettledResult<T>[]> | undefined;
  await gate.transaction(async (tx) => {
    await tx.execute(sql`LOCK TABLE billing_state IN ACCESS EXCLUSIVE MODE`);
    runs = Promise.allSettled(start());
    const deadline = Date.now() + 10_000;
    for (;;) {
      const [row] = rowsOf<{ waiting: number }>(
        await tx.execute(sql`
          SELECT count(*)::int AS waiting FROM pg_locks l JOIN pg_database d ON d.oid = l.database
          WHERE NOT l.granted AND d.datname = current_database()`),
      );
      if ((row?.waiting ?? 0) >= 2) break;
      if (Date.now() > deadline) throw new Error(`only ${row?.waiting} of 2 runs reached the lock`);
      await new Promise((r) => setTimeout(r, 20));
    }
  });
  if (!runs) throw new Error("the runs never started");
  return runs;
}

it("two instances' billing ticks at once: one invoice, one delivery, one instance bills", async () => {
  const scratch = await createScratchDatabase("aegis_billing_race");
  const receiver = await startWebhookReceiver();
  const db = openNodeDatabase(scratch.url, 2);
  const prefix = `aegis-test-${crypto.randomUUID().slice(0, 8)}`;
  const env = {
    DATABASE_URL: scratch.url,
    RATE_LIMIT_REDIS_URL: SHARED_REDIS,
    AEGIS_REDIS_PREFIX: prefix,
    ADMIN_TOKEN,
    KEY_SIGNING_SECRET: "billing-race-signing-secret-0123456789abcdef",
    UPSTREAM_URL: "http://127.0.0.1:9",
    BILLING_UNIT_COST: "0.01",
    BILLING_WEBHOOK_URL: `${receiver.url}/hooks/self-hosted-race/200`,
    BILLING_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
  };
  // The scheduler stays off: the test runs the ticks, at a scheduled time of its choosing.
  const a = await startSelfHosted({ env, port: 0, instance: "race-a", billing: false });
  const b = await startSelfHosted({ env, port: 0, instance: "race-b", billing: false });
  try {
    const created = await fetch(`${a.url}/admin/v1/tenants`, {
      method: "POST",
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "race", quota: { ratePerMinute: 60, burst: 60, dailyUnits: null } }),
    });
    expect(created.status).toBe(201);
    const tenantId = ((await created.json()) as { id: string }).id;
    await ingestUsage(db.db, [
      { eventId: newEventId(), tenantId, route: "jobs", units: 250, occurredAt: Date.parse("2046-08-31T23:59:59Z") },
      // September: after the period, on no invoice of this run.
      { eventId: newEventId(), tenantId, route: "jobs", units: 9, occurredAt: Date.parse("2046-09-01T00:00:00Z") },
    ]);
    const watermark = async () =>
      rowsOf<{ day: string }>(
        await db.db.execute(sql`SELECT to_char(billed_through, 'YYYY-MM-DD') AS day FROM billing_state`),
      ).map((r) => r.day);
    expect(await watermark()).toEqual([]);

    // 05:00 on September 1st, past the 2 h grace: August is the closed period.
    const at = Date.parse("2046-09-01T05:00:00Z");
    const runs = await race(db.db, () => [a.runBilling(at), b.runBilling(at)]);

    // Both ticks succeed (the loser neither fails nor bills): one instance created the
    // invoice, the other found it there. A broken lock shows here as a tick rejected by UNIQUE.
    expect(runs.map((r) => r.status)).toEqual(["fulfilled", "fulfilled"]);
    const results = runs.map((r) => (r as PromiseFulfilledResult<InvoiceRunResult>).value);
    expect(results.map((r) => r.period)).toEqual([
      { start: "2046-08-01", end: "2046-09-01" },
      { start: "2046-08-01", end: "2046-09-01" },
    ]);
    expect(results.map((r) => r.created.map((c) => c.tenantId)).sort()).toEqual([[], [tenantId]]);
    const invoiceId = results.flatMap((r) => r.created)[0]?.id;

    const invoices = rowsOf<{ id: string; period_start: string; units: string; amount_minor: string }>(
      await db.db.execute(sql`
        SELECT id, to_char(period_start, 'YYYY-MM-DD') AS period_start, units::text, amount_minor::text
        FROM invoices WHERE tenant_id = ${tenantId}`),
    );
    // 250 units at 0.01 USD = 2.50 USD.
    expect(invoices).toEqual([{ id: invoiceId, period_start: "2046-08-01", units: "250", amount_minor: "250" }]);
    const deliveries = rowsOf<{ invoice_id: string; status: string }>(
      await db.db.execute(sql`
        SELECT payload->'data'->>'id' AS invoice_id, status FROM webhook_deliveries
        WHERE event_type = 'invoice.created'`),
    );
    expect(deliveries).toEqual([{ invoice_id: invoiceId, status: "delivered" }]);
    expect(await watermark()).toEqual(["2046-09-01"]);
    // Both ticks ran the dispatcher after their run; the webhook went out once.
    const log = (await (await fetch(`${receiver.url}/hooks/self-hosted-race/log`)).json()) as {
      verified: boolean;
      body: { type: string; data: { id: string } };
    }[];
    expect(log.map((r) => [r.body.type, r.body.data.id, r.verified])).toEqual([["invoice.created", invoiceId, true]]);
  } finally {
    await Promise.allSettled([a.close(), b.close()]);
    await db.close();
    const redis = new RedisClient({ url: SHARED_REDIS, connect: nodeSocket });
    await dropPrefix(redis, prefix);
    await redis.close();
    await receiver.close();
    await scratch.drop();
  }
}, 60_000);
