// The price book's history against a real Postgres (node-postgres, a scratch database of this
// file's own, since the book and the invoiced-days watermark are database-wide): late usage
// billed by a run by hand for an earlier period starts its tiers after what that period
// billed, and a book's prices for invoiced days stay as they were (the same PUT again is
// accepted, a relabelled currency or a cleared history is refused).
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createScratchDatabase, type ScratchDatabase } from "../../scripts/lib/scratch-database";
import { type BillingSettings, runInvoicing } from "../../src/billing/invoice-run";
import { replaceBook } from "../../src/billing/prices";
import { parsePrice } from "../../src/core/money";
import { newEventId } from "../../src/core/usage-event";
import { rowsOf } from "../../src/db/database";
import { openNodeDatabase } from "../../src/db/node";
import { ingestUsage } from "../../src/metering/ingest";

let scratch: ScratchDatabase;
let handle: ReturnType<typeof openNodeDatabase>;
const settings: BillingSettings = {
  kind: "month",
  unitPrice: parsePrice("0.000001"),
  currency: "USD",
  zeroInvoices: false,
};
const TIERS = [
  { upTo: 1000, unitPrice: "0.01" },
  { upTo: null, unitPrice: "0.001" },
];

beforeAll(async () => {
  scratch = await createScratchDatabase("aegis_review");
  handle = openNodeDatabase(scratch.url, 2);
});
afterAll(async () => {
  await handle.close();
  await scratch.drop();
});

const out = (tenantId: string, iso: string, outputTokens: number) => ({
  eventId: newEventId(),
  tenantId,
  route: "chat",
  model: "m",
  units: outputTokens,
  outputTokens,
  occurredAt: Date.parse(iso),
});

it("late usage billed by a run by hand for an earlier period starts its tiers at what THAT period billed", async () => {
  const db = handle.db;
  await db.execute(sql`INSERT INTO tenants (id, name) VALUES ('tnreview1', 'r1')`);
  const r = await replaceBook(db, null, "USD", [
    { model: "*", dimension: "outputTokens", unitPrice: "0.01", effectiveFrom: "2031-01-01", tiers: TIERS },
  ]);
  expect(r.result).toBe("replaced");
  // No January usage: no January invoice. 5,000 tokens in February.
  await ingestUsage(db, [out("tnreview1", "2031-02-10T10:00:00Z", 5000)]);
  await runInvoicing(db, { start: "2031-01-01", end: "2031-02-01" }, settings);
  await runInvoicing(db, { start: "2031-02-01", end: "2031-03-01" }, settings);
  // 500 tokens of January 20th arrive late; the operator invoices January by hand.
  await ingestUsage(db, [out("tnreview1", "2031-01-20T10:00:00Z", 500)]);
  const run = await runInvoicing(db, { start: "2031-01-01", end: "2031-02-01" }, settings);
  expect(run.created).toHaveLength(1);
  const [inv] = rowsOf<{ line_items: unknown }>(
    await db.execute(
      sql`SELECT line_items FROM invoices WHERE tenant_id = 'tnreview1' AND period_start = '2031-01-01'`,
    ),
  );
  // January billed nothing before: all 500 are in tier 0 at 0.01 = 5.00 USD.
  expect(inv?.line_items).toEqual([
    expect.objectContaining({ dimension: "outputTokens", tier: 0, quantity: 500, unitPrice: "0.01", amountMinor: 500 }),
  ]);
});

it("accepts the same book again after an invoice, whatever zeros its prices were written with", async () => {
  const db = handle.db;
  // billed_through is 2031-03-01 after the first test.
  const book = [{ model: "lz", dimension: "requests" as const, unitPrice: "00.5", effectiveFrom: "2031-01-01" }];
  // Written before the invoices would be refused now; write it directly as an API PUT would have stored it.
  await db.execute(sql`INSERT INTO prices (tenant_id, model, dimension, currency, unit_price, effective_from)
                       VALUES ('tnreview1', 'lz', 'requests', 'USD', '00.5', '2031-01-01')`);
  const again = await replaceBook(db, "tnreview1", "USD", book);
  expect(again.result).toBe("replaced");
});

it("stores prices without leading or trailing zeros, tiers too", async () => {
  const db = handle.db;
  await db.execute(sql`INSERT INTO tenants (id, name) VALUES ('tnreview2', 'r2')`);
  const r = await replaceBook(db, "tnreview2", "USD", [
    {
      model: "x",
      dimension: "requests",
      unitPrice: "01",
      effectiveFrom: "2031-04-01",
      tiers: [
        { upTo: 5, unitPrice: "01" },
        { upTo: null, unitPrice: "0.5" },
      ],
    },
  ]);
  expect(r.result === "replaced" && r.book.prices[0]).toEqual({
    model: "x",
    dimension: "requests",
    unitPrice: "1",
    effectiveFrom: "2031-04-01",
    tiers: [
      { upTo: 5, unitPrice: "1" },
      { upTo: null, unitPrice: "0.5" },
    ],
  });
});

it("refuses to clear a tenant's prices that priced invoiced days, and to relabel a book's currency", async () => {
  const db = handle.db;
  await db.execute(sql`INSERT INTO tenants (id, name) VALUES ('tnreview3', 'r3')`);
  await db.execute(sql`INSERT INTO prices (tenant_id, model, dimension, currency, unit_price, effective_from)
                       VALUES ('tnreview3', 'm', 'outputTokens', 'USD', '0.001', '2031-01-01')`);
  const cleared = await replaceBook(db, "tnreview3", "USD", []);
  expect(cleared).toMatchObject({ result: "history", path: "prices", fixedBefore: "2031-03-01" });
  // The same digits under another currency would price January's late usage in yen.
  const relabelled = await replaceBook(db, "tnreview3", "JPY", [
    { model: "m", dimension: "outputTokens", unitPrice: "0.001", effectiveFrom: "2031-01-01" },
  ]);
  expect(relabelled).toMatchObject({ result: "history", path: "currency" });
  // A price from the first day not invoiced on is a change the book takes.
  const added = await replaceBook(db, "tnreview3", "USD", [
    { model: "m", dimension: "outputTokens", unitPrice: "0.001", effectiveFrom: "2031-01-01" },
    { model: "m", dimension: "outputTokens", unitPrice: "0.002", effectiveFrom: "2031-03-01" },
  ]);
  expect(added.result).toBe("replaced");
});
