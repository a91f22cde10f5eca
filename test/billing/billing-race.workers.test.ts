// Two invoice runs racing for a period nobody has invoiced yet, inside workerd: exactly one
// invoice, one invoice.created delivery (and one webhook sent), and one run that bills.
//
// Each test gets a Postgres database of its own on the test server (private-database.ts),
// migrated from the same drizzle/ files as every scratch database, and a webhook mailbox of
// its own. The watermark (billing_state) is one row per
// database: in the shared test database another file's run could bill this tenant's usage
// between the setup and the race, or move the watermark past it, and a run of ours would
// move the watermark under theirs.
//
// A gate makes the race real: it holds billing_state (which every run reads right after the
// advisory lock) locked until both runs are waiting on a lock, so neither can finish before
// the other has begun, whatever the timing of their connections.

import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { type InvoiceRunResult, runInvoicing } from "../../src/billing/invoice-run";
import { billingSettings } from "../../src/billing/settings";
import { loadConfig } from "../../src/config";
import { newTenantId } from "../../src/core/secrets";
import { newEventId } from "../../src/core/usage-event";
import { type Database, rowsOf } from "../../src/db/database";
import { createTenant } from "../../src/db/tenants";
import { defaultLimits } from "../../src/defaults";
import { ingestUsage } from "../../src/metering/ingest";
import { env } from "../support/workers/helpers";
import { type PrivateDatabase, privateDatabase } from "../support/workers/private-database";

/**
 * Starts the runs while billing_state is locked, waits until two sessions wait on a lock
 * (pg_locks is read live, unlike pg_stat_activity inside a transaction), then lets them go.
 */
async function race<T>(database: PrivateDatabase, start: () => Promise<T>[]): Promise<PromiseSettledResult<T>[]> {
  let runs: Promise<PromiseSettledResult<T>[]> | undefined;
  await database.withDb((gate) =>
    gate.transaction(async (tx) => {
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
    }),
  );
  if (!runs) throw new Error("the runs never started");
  return runs;
}

/** A tenant with usage in the month `day` falls in, on the given database. */
async function tenantWithUsage(db: Database, day: string, units: number): Promise<string> {
  const id = newTenantId();
  const quota = { ratePerMinute: 60, burst: 60, dailyUnits: null, unitPrice: "0.01" };
  await createTenant(db, { id, name: "race", status: "active", quota }, defaultLimits(loadConfig(env)));
  await ingestUsage(db, [{ eventId: newEventId(), tenantId: id, route: "chat", units, occurredAt: Date.parse(day) }]);
  return id;
}

/** What the race left: the tenant's invoices, its invoice.created deliveries, and the watermark. */
async function outcome(db: Database, tenantId: string) {
  const invoices = rowsOf<{ id: string; period_start: string; units: string; amount_minor: string }>(
    await db.execute(sql`
      SELECT id, to_char(period_start, 'YYYY-MM-DD') AS period_start, units::text, amount_minor::text
      FROM invoices WHERE tenant_id = ${tenantId}`),
  );
  const deliveries = rowsOf<{ invoice_id: string }>(
    await db.execute(sql`
      SELECT payload->'data'->>'id' AS invoice_id FROM webhook_deliveries
      WHERE event_type = 'invoice.created' AND payload->'data'->>'tenantId' = ${tenantId}`),
  );
  const watermark = rowsOf<{ billed_through: string }>(
    await db.execute(sql`SELECT to_char(billed_through, 'YYYY-MM-DD') AS billed_through FROM billing_state`),
  );
  return { invoices, deliveries, watermark: watermark.map((r) => r.billed_through) };
}

describe("invoice runs racing on the Workers path", () => {
  it("two runInvoicing on separate connections: one invoice, one delivery, one run bills and one finds it done", async () => {
    const database = await privateDatabase("billing-race");
    try {
      const MARCH = { start: "2044-03-01", end: "2044-04-01" };
      const tenantId = await database.withDb((db) => tenantWithUsage(db, "2044-03-17T09:00:00Z", 1_234));
      const before = await database.withDb((db) => outcome(db, tenantId));
      expect(before).toEqual({ invoices: [], deliveries: [], watermark: [] });

      const settings = billingSettings(loadConfig(env));
      const runs = await race(database, () => [
        database.withDb((db) => runInvoicing(db, MARCH, settings)),
        database.withDb((db) => runInvoicing(db, MARCH, settings)),
      ]);

      // Both runs succeed (the loser neither fails nor bills): one created the invoice, the
      // other found it there. A broken lock shows here as a run rejected by UNIQUE.
      expect(runs.map((r) => r.status)).toEqual(["fulfilled", "fulfilled"]);
      const results = runs.map((r) => (r as PromiseFulfilledResult<InvoiceRunResult>).value);
      const created = results.map((r) => r.created.map((c) => c.tenantId)).sort();
      expect(created).toEqual([[], [tenantId]]);

      const after = await database.withDb((db) => outcome(db, tenantId));
      const winner = results.find((r) => r.created.length > 0);
      // 1,234 units at 0.01 USD = 12.34 USD.
      expect(after.invoices).toEqual([
        { id: winner?.created[0]?.id, period_start: MARCH.start, units: "1234", amount_minor: "1234" },
      ]);
      expect(after.deliveries).toEqual([{ invoice_id: winner?.created[0]?.id }]);
      expect(winner?.deliveries).toHaveLength(1);
      // The watermark, absent before, now says March is invoiced: the day after it.
      expect(after.watermark).toEqual([MARCH.end]);
    } finally {
      await database.drop();
    }
  });

  it("two cron ticks at once: one invoice, one delivery row, and one invoice.created sent", async () => {
    const database = await privateDatabase("billing-race");
    try {
      const tenantId = await database.withDb((db) => tenantWithUsage(db, "2045-06-30T23:00:00Z", 500));
      expect((await database.withDb((db) => outcome(db, tenantId))).watermark).toEqual([]);
      // 03:00 on July 1st, past the 2 h grace: June is the closed period.
      const tick = () => database.scheduled("2045-07-01T03:00:00Z");
      const runs = await race(database, () => [tick(), tick()]);
      // Neither tick fails: the second waits for the first and finds June billed.
      expect(runs.map((r) => r.status)).toEqual(["fulfilled", "fulfilled"]);

      const after = await database.withDb((db) => outcome(db, tenantId));
      // 500 units at 0.01 USD = 5.00 USD.
      expect(after.invoices).toEqual([
        { id: expect.stringMatching(/^inv_/), period_start: "2045-06-01", units: "500", amount_minor: "500" },
      ]);
      const invoiceId = after.invoices[0]?.id;
      expect(after.deliveries).toEqual([{ invoice_id: invoiceId }]);
      expect(after.watermark).toEqual(["2045-07-01"]);
      // Both ticks ran the dispatcher after their run; the delivery went out once.
      const log = await database.received();
      expect(log.map((r) => [r.body.type, r.body.data.id, r.verified])).toEqual([["invoice.created", invoiceId, true]]);
    } finally {
      await database.drop();
    }
  });
});
