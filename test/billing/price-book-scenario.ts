// One billing story with a price book, told to both runtimes' billing paths: the Workers
// cron (workerd, the Neon driver) and the self-hosted tick (Node, node-postgres). Each path
// runs it against a database of its own and must produce exactly EXPECTED: the same
// invoices, line by line.
//
// January 2031, in USD, with every amount worked out by hand below:
// - the global book prices gpt-4o* by input, cached input and output tokens, output in two
//   tiers (the first 1,000,000 a period at one price, the rest at another), and changes the
//   output price on the 16th (same tiers); claude* by requests and tokens, with no cached price;
// - the tenant's own price replaces gpt-4o-mini's output price only; its unitPrice (0.01)
//   prices the units of a route with no model.
// Then February: a new gpt-4o* output price from the 1st, and a January day's usage that
// arrives after January's invoice: it is priced at January's prices, in the tier after what
// January billed, on an adjustment line that names January.

import { sql } from "drizzle-orm";
import { expect } from "vitest";
import { estimateOpenPeriod } from "../../src/billing/estimate";
import type { BillingSettings } from "../../src/billing/invoice-run";
import type { InvoiceView } from "../../src/billing/invoice-view";
import { newEventId, type UsageEvent } from "../../src/core/usage-event";
import { type Database, rowsOf } from "../../src/db/database";
import { ingestUsage } from "../../src/metering/ingest";

export interface BillingPath {
  /** An operator API call (`/admin/v1` + path) with the operator token. */
  admin(path: string, init?: { method?: string; json?: unknown }): Promise<Response>;
  withDb<T>(fn: (db: Database) => Promise<T>): Promise<T>;
  /** The runtime's billing tick at a scheduled time: the Workers cron, or the self-hosted scheduler's run. */
  tick(iso: string): Promise<void>;
  settings: BillingSettings;
}

const tiers = (first: string, rest: string) => [
  { upTo: 1_000_000, unitPrice: first },
  { upTo: null, unitPrice: rest },
];

export const JANUARY_BOOK = [
  { model: "claude*", dimension: "requests", unitPrice: "0.002", effectiveFrom: "2031-01-01" },
  { model: "claude*", dimension: "inputTokens", unitPrice: "0.000003", effectiveFrom: "2031-01-01" },
  { model: "claude*", dimension: "outputTokens", unitPrice: "0.000015", effectiveFrom: "2031-01-01" },
  { model: "gpt-4o*", dimension: "inputTokens", unitPrice: "0.0000025", effectiveFrom: "2031-01-01" },
  { model: "gpt-4o*", dimension: "cachedInputTokens", unitPrice: "0.00000125", effectiveFrom: "2031-01-01" },
  {
    model: "gpt-4o*",
    dimension: "outputTokens",
    unitPrice: "0.00001",
    effectiveFrom: "2031-01-01",
    tiers: tiers("0.00001", "0.000008"),
  },
  {
    model: "gpt-4o*",
    dimension: "outputTokens",
    unitPrice: "0.000012",
    effectiveFrom: "2031-01-16",
    tiers: tiers("0.000012", "0.000009"),
  },
];
const FEBRUARY_PRICE = {
  model: "gpt-4o*",
  dimension: "outputTokens",
  unitPrice: "0.00002",
  effectiveFrom: "2031-02-01",
};

const JAN = { periodStart: "2031-01-01", periodEnd: "2031-02-01" };
const FEB = { periodStart: "2031-02-01", periodEnd: "2031-03-01" };

/** What both paths must bill: the invoices without their ids and timestamps, and the webhook's lines. */
export const EXPECTED = {
  january: {
    periodStart: "2031-01-01",
    periodEnd: "2031-02-01",
    currency: "USD",
    billingAccountId: "acct_4242",
    paymentMethodRef: "pm_1NzQ8x2eZvKYlo2C",
    // gpt-4o 4,300,000 + gpt-4o-mini 4,000,000 + claude 120,000 + 42 units of the default route.
    units: 8_420_042,
    // 42 + 1 + 30 + 30 + 650 + 50 + 600 + 480 + 270 + 250 + 180 cents.
    amountMinor: 2583,
    lineItems: [
      // No model: 42 units at the tenant's unitPrice of 0.01 = 42 cents.
      { model: null, dimension: "units", quantity: 42, unitPrice: "0.01", amountMinor: 42, ...JAN },
      // 3 requests x 0.002 = 0.6 cents, to 1; claude has no cached price, so every input token at 0.000003.
      { model: "claude-sonnet-4", dimension: "requests", quantity: 3, unitPrice: "0.002", amountMinor: 1, ...JAN },
      {
        model: "claude-sonnet-4",
        dimension: "inputTokens",
        quantity: 100_000,
        unitPrice: "0.000003",
        amountMinor: 30,
        ...JAN,
      },
      {
        model: "claude-sonnet-4",
        dimension: "outputTokens",
        quantity: 20_000,
        unitPrice: "0.000015",
        amountMinor: 30,
        ...JAN,
      },
      // Input less cached: (2,000,000 - 400,000) + 1,000,000 at 0.0000025 = 6.50 USD.
      {
        model: "gpt-4o",
        dimension: "inputTokens",
        quantity: 2_600_000,
        unitPrice: "0.0000025",
        amountMinor: 650,
        ...JAN,
      },
      {
        model: "gpt-4o",
        dimension: "outputTokens",
        tier: 0,
        quantity: 600_000,
        unitPrice: "0.00001",
        amountMinor: 600,
        ...JAN,
      },
      // From the 16th, the new price: 400,000 more fill the first tier, 300,000 go to the second.
      {
        model: "gpt-4o",
        dimension: "outputTokens",
        tier: 0,
        quantity: 400_000,
        unitPrice: "0.000012",
        amountMinor: 480,
        ...JAN,
      },
      {
        model: "gpt-4o",
        dimension: "outputTokens",
        tier: 1,
        quantity: 300_000,
        unitPrice: "0.000009",
        amountMinor: 270,
        ...JAN,
      },
      {
        model: "gpt-4o",
        dimension: "cachedInputTokens",
        quantity: 400_000,
        unitPrice: "0.00000125",
        amountMinor: 50,
        ...JAN,
      },
      {
        model: "gpt-4o-mini",
        dimension: "inputTokens",
        quantity: 1_000_000,
        unitPrice: "0.0000025",
        amountMinor: 250,
        ...JAN,
      },
      // The tenant's own output price for gpt-4o-mini: 3,000,000 x 0.0000006 = 1.80 USD.
      {
        model: "gpt-4o-mini",
        dimension: "outputTokens",
        quantity: 3_000_000,
        unitPrice: "0.0000006",
        amountMinor: 180,
        ...JAN,
      },
    ],
  },
  february: {
    periodStart: "2031-02-01",
    periodEnd: "2031-03-01",
    currency: "USD",
    billingAccountId: "acct_4242",
    paymentMethodRef: "pm_1NzQ8x2eZvKYlo2C",
    units: 600_000,
    amountMinor: 650,
    lineItems: [
      { model: "gpt-4o", dimension: "outputTokens", quantity: 100_000, unitPrice: "0.00002", amountMinor: 200, ...FEB },
      // Late usage of January 25th: January billed 1,300,000 output tokens, so all 500,000 fall
      // in the second tier, at the price in force on the 25th (0.000009), not February's.
      {
        model: "gpt-4o",
        dimension: "outputTokens",
        tier: 1,
        quantity: 500_000,
        unitPrice: "0.000009",
        amountMinor: 450,
        ...JAN,
        adjustment: true,
      },
    ],
  },
};

const event = (tenantId: string, iso: string, model: string | null, tokens: Partial<UsageEvent>): UsageEvent => ({
  eventId: newEventId(),
  tenantId,
  route: model ? "chat" : "default",
  model,
  units: (tokens.inputTokens ?? 0) + (tokens.outputTokens ?? 0),
  occurredAt: Date.parse(iso),
  ...tokens,
});

async function ok(res: Promise<Response>, status = 200): Promise<Record<string, unknown>> {
  const r = await res;
  const body = (await r.json()) as Record<string, unknown>;
  expect(r.status, JSON.stringify(body)).toBe(status);
  return body;
}

const bare = (invoice: InvoiceView) => {
  const { id: _id, tenantId: _t, status: _s, createdAt: _c, paidAt: _p, voidedAt: _v, ...rest } = invoice;
  return rest;
};

/** Runs the story on `path`; returns what it billed, for the caller to hold to EXPECTED. */
export async function runPriceBookScenario(path: BillingPath) {
  const tenant = await ok(
    path.admin("/tenants", {
      method: "POST",
      json: {
        name: "price book",
        billingAccountId: "acct_4242",
        paymentMethodRef: "pm_1NzQ8x2eZvKYlo2C",
        quota: { ratePerMinute: 600, burst: 600, dailyUnits: null, unitPrice: "0.01" },
      },
    }),
    201,
  );
  const tenantId = tenant.id as string;
  await ok(path.admin("/prices", { method: "PUT", json: { currency: "USD", prices: JANUARY_BOOK } }));
  await ok(
    path.admin(`/tenants/${tenantId}/prices`, {
      method: "PUT",
      json: {
        currency: "USD",
        prices: [
          { model: "gpt-4o-mini", dimension: "outputTokens", unitPrice: "0.0000006", effectiveFrom: "2031-01-01" },
        ],
      },
    }),
  );
  const ingest = (events: UsageEvent[]) => path.withDb((db) => ingestUsage(db, events));
  await ingest([
    event(tenantId, "2031-01-05T10:00:00Z", "gpt-4o", {
      inputTokens: 2_000_000,
      cachedInputTokens: 400_000,
      outputTokens: 600_000,
    }),
    event(tenantId, "2031-01-20T10:00:00Z", "gpt-4o", { inputTokens: 1_000_000, outputTokens: 700_000 }),
    event(tenantId, "2031-01-10T10:00:00Z", "gpt-4o-mini", { inputTokens: 1_000_000, outputTokens: 3_000_000 }),
    event(tenantId, "2031-01-12T10:00:00Z", "claude-sonnet-4", { inputTokens: 50_000, outputTokens: 10_000 }),
    event(tenantId, "2031-01-12T11:00:00Z", "claude-sonnet-4", { inputTokens: 30_000, outputTokens: 6_000 }),
    event(tenantId, "2031-01-12T12:00:00Z", "claude-sonnet-4", { inputTokens: 20_000, outputTokens: 4_000 }),
    { ...event(tenantId, "2031-01-08T10:00:00Z", null, {}), units: 42 },
  ]);
  // The tenant's estimate late on January 31st, while January is open: what its invoice will say.
  const estimate = await path.withDb((db) =>
    estimateOpenPeriod(db, tenantId, path.settings, Date.parse("2031-01-31T23:00:00Z")),
  );
  await path.tick("2031-02-01T05:00:00Z");

  // January is invoiced: its prices are history now, and a book that rewrites them is refused.
  const rewrite = await ok(
    path.admin("/prices", { method: "PUT", json: { currency: "USD", prices: JANUARY_BOOK.slice(0, 5) } }),
    409,
  );
  const backdated = await ok(
    path.admin("/prices", {
      method: "PUT",
      json: { currency: "USD", prices: [...JANUARY_BOOK, { ...FEBRUARY_PRICE, effectiveFrom: "2031-01-25" }] },
    }),
    409,
  );
  const february = await ok(
    path.admin("/prices", { method: "PUT", json: { currency: "USD", prices: [...JANUARY_BOOK, FEBRUARY_PRICE] } }),
  );
  await ingest([
    event(tenantId, "2031-01-25T10:00:00Z", "gpt-4o", { outputTokens: 500_000 }),
    event(tenantId, "2031-02-03T10:00:00Z", "gpt-4o", { outputTokens: 100_000 }),
  ]);
  await path.tick("2031-03-01T05:00:00Z");

  const listed = await ok(path.admin(`/invoices?tenantId=${tenantId}`));
  const invoices = (listed.invoices as InvoiceView[]).sort((a, b) => a.periodStart.localeCompare(b.periodStart));
  const webhooks = await path.withDb(async (db) =>
    rowsOf<{ data: InvoiceView }>(
      await db.execute(sql`
        SELECT payload->'data' AS data FROM webhook_deliveries
        WHERE event_type = 'invoice.created' AND payload->'data'->>'tenantId' = ${tenantId}
        ORDER BY payload->'data'->>'periodStart'`),
    ),
  );
  return {
    invoices: invoices.map(bare),
    webhooks: webhooks.map((w) => bare(w.data)),
    estimate,
    refused: [rewrite, backdated].map((p) => ({ status: p.status, code: p.code, fixedBefore: p.fixedBefore })),
    februaryBook: february,
  };
}

/** The assertions both paths share. */
export function expectPriceBookScenario(result: Awaited<ReturnType<typeof runPriceBookScenario>>): void {
  expect(result.invoices).toEqual([EXPECTED.january, EXPECTED.february]);
  // The estimate is priced by the invoice's own code: the same lines, the same amount.
  expect(result.estimate).toEqual({
    currency: "USD",
    periodStart: "2031-01-01",
    periodEnd: "2031-02-01",
    amountMinor: EXPECTED.january.amountMinor,
    lines: EXPECTED.january.lineItems,
  });
  // invoice.created carries the same lines and billing references, so a billing system can charge from it alone.
  expect(result.webhooks).toEqual([EXPECTED.january, EXPECTED.february]);
  expect(result.refused).toEqual([
    { status: 409, code: "price-history-fixed", fixedBefore: "2031-02-01" },
    { status: 409, code: "price-history-fixed", fixedBefore: "2031-02-01" },
  ]);
  expect(result.februaryBook).toMatchObject({ currency: "USD", fixedBefore: "2031-02-01" });
}
