// Invoicing from the rollup, the cron tick, and the operator billing routes, against the
// real Postgres: a database of this file's own (private-database.ts), with its own
// billing_state watermark and its own webhook mailbox, so no other file's billing run moves
// the watermark under these tests, and no other file's cron tick sends (or is sent) their
// webhooks. Tenants, usage, runs and operator calls all go to it: the Worker's handlers are
// called with its env, never through SELF. Periods are in 2031 for the cron and direct
// runs, and in 2020 for runs by hand (which only accept closed periods).

import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runInvoicing } from "../../src/billing/invoice-run";
import { billingSettings } from "../../src/billing/settings";
import { loadConfig } from "../../src/config";
import { newEventId, type UsageEvent } from "../../src/core/usage-event";
import { invoices, usageDaily, webhookDeliveries } from "../../src/db/schema";
import { ingestUsage } from "../../src/metering/ingest";
import type { Quota } from "../support/workers/helpers";
import { type PrivateDatabase, privateDatabase } from "../support/workers/private-database";

let db: PrivateDatabase;
beforeAll(async () => {
  db = await privateDatabase("billing-integration");
});
afterAll(async () => {
  await db?.drop();
});

const at = (iso: string) => Date.parse(iso);
const JAN = { start: "2031-01-01", end: "2031-02-01" };
const FEB = { start: "2031-02-01", end: "2031-03-01" };
const settings = () => billingSettings(loadConfig(db.env));

async function usage(tenantId: string, entries: [route: string, units: number, iso: string][]): Promise<void> {
  const events: UsageEvent[] = entries.map(([route, units, iso]) => ({
    eventId: newEventId(),
    tenantId,
    route,
    units,
    occurredAt: at(iso),
  }));
  await db.withDb((d) => ingestUsage(d, events));
}

const invoicesOf = (tenantId: string) =>
  db.withDb((d) => d.select().from(invoices).where(eq(invoices.tenantId, tenantId)).orderBy(invoices.periodStart));

const scheduled = (iso: string) => db.scheduled(iso);
const newTenant = (quota: Quota) => db.newTenant(quota);

describe("invoicing", () => {
  it("turns a closed month into one invoice per tenant, totals equal to the rollup", async () => {
    const t = await newTenant({ ratePerMinute: 60, burst: 60, dailyUnits: null });
    await usage(t.id, [
      ["chat", 1_000_000, "2031-01-01T00:00:00Z"],
      ["chat", 2_333_333, "2031-01-31T23:59:59.999Z"], // the month's last instant
      ["embed", 500, "2031-01-15T12:00:00Z"],
      ["chat", 7, "2031-02-01T00:00:00Z"], // the next month: not on this invoice
    ]);
    await scheduled("2031-02-01T03:00:00Z"); // past the 2 h grace: January is closed
    const [invoice, ...others] = await invoicesOf(t.id);
    expect(others).toEqual([]);
    expect(invoice).toMatchObject({ periodStart: JAN.start, periodEnd: JAN.end, status: "issued", currency: "USD" });
    const [rollup] = await db.withDb((d) =>
      d
        .select({ units: sql<string>`sum(${usageDaily.units})` })
        .from(usageDaily)
        .where(and(eq(usageDaily.tenantId, t.id), sql`${usageDaily.day} < '2031-02-01'`)),
    );
    expect(invoice?.units).toBe(Number(rollup?.units));
    // No model on either route: one line of units, at BILLING_UNIT_COST (the units price of last resort).
    expect(invoice?.lineItems).toEqual([
      {
        model: null,
        dimension: "units",
        quantity: 3_333_833,
        unitPrice: "0.0000015",
        amountMinor: 500,
        periodStart: JAN.start,
        periodEnd: JAN.end,
      },
    ]);
    // Worked out by hand rather than by the code's own lineAmountMinor:
    // 3,333,833 x 0.0000015 USD = 500.07495 cents, rounded once, to 500.
    expect(invoice?.amountMinor).toBe(500);
    // The same tick sent invoice.created to BILLING_WEBHOOK_URL (this database's mailbox),
    // signed so that the receiver's standardwebhooks verification passed.
    const log = await db.received();
    const mine = log.filter((r) => r.body.data.id === invoice?.id);
    expect(mine.map((r) => [r.body.type, r.verified, r.body.data.amountMinor])).toEqual([
      ["invoice.created", true, 500],
    ]);
  });

  // Every repeat here starts after the first tick made the invoice, so each one finds it.
  // Runs racing for a period nobody has invoiced yet (the advisory lock, UNIQUE) are in
  // billing-race.test.ts, on a database of their own.
  it("is idempotent: a repeated cron tick, and runs of the period after it, make one invoice per tenant", async () => {
    const t = await newTenant({ ratePerMinute: 60, burst: 60, dailyUnits: null });
    await usage(t.id, [["default", 42, "2031-01-10T10:00:00Z"]]);
    await scheduled("2031-02-01T03:00:00Z");
    await scheduled("2031-02-01T03:15:00Z");
    const reruns = await Promise.all([
      db.withDb((d) => runInvoicing(d, JAN, settings())),
      db.withDb((d) => runInvoicing(d, JAN, settings())),
    ]);
    expect(reruns.flatMap((r) => r.created).filter((c) => c.tenantId === t.id)).toEqual([]);
    const list = await invoicesOf(t.id);
    expect(list).toHaveLength(1);
    expect(list[0]?.units).toBe(42);
    const created = await db.withDb((d) =>
      d
        .select()
        .from(webhookDeliveries)
        .where(
          and(
            eq(webhookDeliveries.eventType, "invoice.created"),
            sql`${webhookDeliveries.payload}->'data'->>'tenantId' = ${t.id}`,
          ),
        ),
    );
    expect(created).toHaveLength(1);
  });

  it("bills usage that arrives after its period was invoiced as an adjustment line on the next invoice", async () => {
    const t = await newTenant({ ratePerMinute: 60, burst: 60, dailyUnits: null, unitPrice: "0.01" });
    await usage(t.id, [["chat", 100, "2031-01-20T00:00:00Z"]]);
    await db.withDb((d) => runInvoicing(d, JAN, settings()));
    // Late: an event of January 20th lands after January's invoice.
    await usage(t.id, [
      ["chat", 30, "2031-01-20T08:00:00Z"],
      ["chat", 200, "2031-02-10T00:00:00Z"],
    ]);
    // Re-running January changes nothing: its invoice exists.
    await db.withDb((d) => runInvoicing(d, JAN, settings()));
    await db.withDb((d) => runInvoicing(d, FEB, settings()));
    const [jan, feb] = await invoicesOf(t.id);
    expect(jan).toMatchObject({ units: 100, amountMinor: 100 });
    // The late units are priced at the tenant's unitPrice, on a line that names January.
    const units = { model: null, dimension: "units", unitPrice: "0.01" };
    expect(feb?.lineItems).toEqual([
      { ...units, quantity: 200, amountMinor: 200, periodStart: FEB.start, periodEnd: FEB.end },
      { ...units, quantity: 30, amountMinor: 30, periodStart: JAN.start, periodEnd: JAN.end, adjustment: true },
    ]);
    expect(feb).toMatchObject({ units: 230, amountMinor: 230 });
  });

  it("leaves a tenant without usage without an invoice", async () => {
    const t = await newTenant({ ratePerMinute: 60, burst: 60, dailyUnits: null });
    await db.withDb((d) => runInvoicing(d, JAN, settings()));
    expect(await invoicesOf(t.id)).toEqual([]);
  });
});

describe("invoice lifecycle through the operator API", () => {
  it("runs billing by hand, pays an invoice, refuses to void it, and answers 404 to an unknown id", async () => {
    const t = await newTenant({ ratePerMinute: 60, burst: 60, dailyUnits: null });
    await usage(t.id, [["default", 10, "2020-03-05T00:00:00Z"]]);
    const run = await db.adminJson<{ created: number; invoices: { id: string; tenantId: string }[] }>("/billing/run", {
      method: "POST",
      json: { periodStart: "2020-03-01", periodEnd: "2020-04-01" },
    });
    const id = run.invoices.find((i) => i.tenantId === t.id)?.id ?? "";
    expect(id).toMatch(/^inv_/);
    const listed = await db.adminJson<{ invoices: { id: string }[] }>(`/invoices?tenantId=${t.id}&status=issued`);
    expect(listed.invoices.map((i) => i.id)).toEqual([id]);

    const paid = await db.admin(`/invoices/${id}/pay`, { method: "POST" });
    expect(paid.status).toBe(200);
    expect(((await paid.json()) as { status: string }).status).toBe("paid");
    expect((await db.admin(`/invoices/${id}/pay`, { method: "POST" })).status).toBe(200);
    const voided = await db.admin(`/invoices/${id}/void`, { method: "POST" });
    expect(voided.status).toBe(409);
    expect(((await voided.json()) as { code: string }).code).toBe("invoice-conflict");
    expect((await db.admin("/invoices/inv_aaaaaaaaaaaaaaaaaaaa/pay", { method: "POST" })).status).toBe(404);
    expect((await db.admin("/invoices/not-an-id/pay", { method: "POST" })).status).toBe(400);
  });

  it("cannot pay a void invoice (409), and needs the operator token (401)", async () => {
    const t = await newTenant({ ratePerMinute: 60, burst: 60, dailyUnits: null });
    await usage(t.id, [["default", 10, "2020-04-05T00:00:00Z"]]);
    const run = await db.adminJson<{ invoices: { id: string; tenantId: string }[] }>("/billing/run", {
      method: "POST",
      json: { periodStart: "2020-04-01", periodEnd: "2020-05-01" },
    });
    const id = run.invoices.find((i) => i.tenantId === t.id)?.id ?? "";
    expect((await db.admin(`/invoices/${id}/void`, { method: "POST" })).status).toBe(200);
    expect((await db.admin(`/invoices/${id}/pay`, { method: "POST" })).status).toBe(409);
    const wrong = await db.admin(`/invoices/${id}/pay`, {
      method: "POST",
      headers: { authorization: "Bearer wrong-token-0123456789" },
    });
    expect(wrong.status).toBe(401);
    expect((await db.admin("/billing/run", { method: "POST", json: { periodStart: "2031-04-01" } })).status).toBe(400);
    expect(
      (await db.admin("/billing/run", { method: "POST", json: { periodStart: "2031-05-01", periodEnd: "2031-04-01" } }))
        .status,
    ).toBe(400);
    // Part of a month, or two: tiers count a whole period's units, so only a whole one is billed.
    for (const range of [
      { periodStart: "2020-01-01", periodEnd: "2020-01-20" },
      { periodStart: "2020-01-15", periodEnd: "2020-02-15" },
      { periodStart: "2020-01-01", periodEnd: "2020-03-01" },
    ]) {
      const res = await db.admin("/billing/run", { method: "POST", json: range });
      const body = (await res.json()) as { code: string; detail: string };
      expect([res.status, body.code, body.detail]).toEqual([
        400,
        "invalid-period",
        expect.stringContaining("2020-01-01 to 2020-02-01"),
      ]);
    }
  });
});
