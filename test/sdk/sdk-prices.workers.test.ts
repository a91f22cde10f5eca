// The operator client's price book methods, payment-method references and v2 invoice lines
// against the real Worker in workerd. A tenant's own prices are safe in the database the
// workers test files share; the global book prices every invoice, so it is only written on
// a database of this file's own, and so is the invoiced-days watermark that fixes history.

import { SELF } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newInvoiceId } from "../../src/billing/ids";
import { AegisAdmin, HTTPError } from "../../src/client/index";
import type { InvoiceLine, Price, PriceBookInput } from "../../src/client/types";
import { invoices } from "../../src/db/schema";
import { ADMIN_TOKEN, BASE, newTenant, withDb } from "../support/workers/helpers";
import { type PrivateDatabase, privateDatabase } from "../support/workers/private-database";

const admin = new AegisAdmin({ baseUrl: BASE, token: ADMIN_TOKEN, fetch: (request) => SELF.fetch(request) });

/** The HTTPError a call rejects with; fails the test when it resolves or throws anything else. */
async function refusal(call: Promise<unknown>): Promise<HTTPError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HTTPError);
  return err as HTTPError;
}

// From days after any that another file may have invoiced in the shared database (its
// watermark fixes the prices before it).
const tiered: Price = {
  model: "gpt-4o*",
  dimension: "outputTokens",
  unitPrice: "0.00001",
  effectiveFrom: "2099-01-01",
  tiers: [
    { upTo: 10_000_000, unitPrice: "0.00001" },
    { upTo: null, unitPrice: "0.000008" },
  ],
};
const mini: Price = {
  model: "gpt-4o-mini",
  dimension: "inputTokens",
  unitPrice: "0.00000015",
  effectiveFrom: "2099-02-01",
};

describe("AegisAdmin, a tenant's own prices", () => {
  it("reads and replaces them, and a book as read goes back as it is", async () => {
    const { id } = await newTenant({ ratePerMinute: 0, burst: 1, dailyUnits: null });
    const empty = await admin.getTenantPrices(id);
    expect(empty).toMatchObject({ currency: "USD", prices: [] });
    expect(empty).toHaveProperty("fixedBefore");

    const set = await admin.setTenantPrices(id, { currency: "USD", prices: [tiered] });
    expect(set.prices).toEqual([tiered]);
    // Read, change, write back: the book as read carries fixedBefore, which a PUT does not
    // take; the client sends only the currency and the prices.
    const book = await admin.getTenantPrices(id);
    book.prices.push(mini);
    expect((await admin.setTenantPrices(id, book)).prices).toEqual([tiered, mini]);
    expect((await admin.getTenantPrices(id)).prices).toEqual([tiered, mini]);
    // The global book did not move.
    expect((await admin.getPrices()).prices).not.toContainEqual(tiered);

    // An empty list puts the tenant back on the global book.
    expect((await admin.setTenantPrices(id, { currency: "usd", prices: [] })).prices).toEqual([]);
  });

  it("refuses a bad book with every problem's path, another currency, and an unknown tenant", async () => {
    const { id } = await newTenant({ ratePerMinute: 0, burst: 1, dailyUnits: null });
    const bad: PriceBookInput = {
      currency: "USD",
      prices: [
        {
          ...tiered,
          tiers: [
            { upTo: 100, unitPrice: "0.00001" },
            { upTo: 50, unitPrice: "0.000008" },
          ],
        },
        { ...mini, unitPrice: "0.0000000000001" },
      ],
    };
    const invalid = await refusal(admin.setTenantPrices(id, bad));
    expect(invalid.status).toBe(400);
    expect(invalid.problem.code).toBe("invalid-request");
    const paths = (invalid.problem.errors as { path: string }[]).map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(["prices.0.tiers.1.upTo", "prices.1.unitPrice"]));

    const euro = await refusal(admin.setTenantPrices(id, { currency: "EUR", prices: [] }));
    expect(euro.problem).toMatchObject({ status: 400, code: "currency-mismatch", currency: "USD" });
    expect((await admin.getTenantPrices(id)).prices).toEqual([]);

    // One at a time: a second call started with the first would reject, unhandled, while the
    // first is awaited.
    for (const call of [
      () => admin.getTenantPrices("tnaaaaaaaaaaaaaaaa"),
      () => admin.setTenantPrices("tnaaaaaaaaaaaaaaaa", { currency: "USD", prices: [] }),
    ]) {
      expect((await refusal(call())).problem).toMatchObject({ status: 404, code: "tenant-not-found" });
    }
  });
});

describe("AegisAdmin, the global price book", () => {
  let db: PrivateDatabase;
  let own: AegisAdmin;
  beforeAll(async () => {
    db = await privateDatabase("sdk-prices");
    // The client's requests go to the Worker with the private database's env.
    own = new AegisAdmin({
      baseUrl: BASE,
      token: ADMIN_TOKEN,
      fetch: async (request) => {
        const url = new URL(request.url);
        const body = request.body ? await request.arrayBuffer() : undefined;
        return db.fetch(url.pathname + url.search, { method: request.method, headers: request.headers, body });
      },
    });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it("reads and replaces it, and keeps the prices of invoiced days as they were (409)", async () => {
    expect(await own.getPrices()).toEqual({ currency: "USD", prices: [], fixedBefore: null });
    const units: Price = { model: "*", dimension: "units", unitPrice: "0.0000015", effectiveFrom: "2020-01-01" };
    expect(await own.setPrices({ currency: "USD", prices: [units, tiered] })).toEqual({
      currency: "USD",
      prices: [units, tiered],
      fixedBefore: null,
    });

    // A billing run of January 2020 invoices its days, with usage or without.
    await own.runBilling({ periodStart: "2020-01-01", periodEnd: "2020-02-01" });
    const book = await own.getPrices();
    expect(book.fixedBefore).toBe("2020-02-01");

    const rewrite = await refusal(
      own.setPrices({ currency: "USD", prices: [{ ...units, unitPrice: "0.000002" }, tiered] }),
    );
    expect(rewrite.problem).toMatchObject({ status: 409, code: "price-history-fixed", fixedBefore: "2020-02-01" });
    // A changed price drops the stored one: that one is named, and having no place in the book
    // sent, its path is the list's.
    expect(rewrite.problem.errors).toEqual([
      {
        path: "prices",
        message: expect.stringContaining(
          "the units price of * from 2020-01-01 prices days already invoiced (before 2020-02-01)",
        ),
      },
    ]);
    // A change from the first day not invoiced is how a price changes.
    book.prices.push({ ...units, unitPrice: "0.000002", effectiveFrom: "2020-02-01" });
    expect((await own.setPrices(book)).prices).toEqual([
      units,
      { ...units, unitPrice: "0.000002", effectiveFrom: "2020-02-01" },
      tiered,
    ]);
  });
});

describe("AegisAdmin, payment methods and invoice lines", () => {
  it("sets a tenant's payment method at creation, changes and removes it, and refuses card numbers", async () => {
    const t = await admin.createTenant({ name: "sdk paying co", paymentMethodRef: "pm_1NzQ8x2eZvKYlo2C" });
    expect(t.paymentMethodRef).toBe("pm_1NzQ8x2eZvKYlo2C");
    expect((await admin.getTenant(t.id)).paymentMethodRef).toBe("pm_1NzQ8x2eZvKYlo2C");
    expect((await admin.updateTenant(t.id, { paymentMethodRef: "cus_9s6XKzkNRiz8i3" })).paymentMethodRef).toBe(
      "cus_9s6XKzkNRiz8i3",
    );
    expect((await admin.updateTenant(t.id, { paymentMethodRef: null })).paymentMethodRef).toBeNull();
    const card = await refusal(admin.updateTenant(t.id, { paymentMethodRef: "4242 4242 4242 4242" }));
    expect(card.problem).toMatchObject({ status: 400, code: "invalid-request" });
    expect((card.problem.errors as { path: string }[]).map((e) => e.path)).toEqual(["paymentMethodRef"]);
    expect((await admin.getTenant(t.id)).paymentMethodRef).toBeNull();
  });

  it("reads invoices priced with the book: v2 lines, the billing account and the payment method", async () => {
    // Written to the database directly: a billing run here would move the shared watermark.
    const t = await newTenant({ ratePerMinute: 0, burst: 1, dailyUnits: null });
    const period = { periodStart: "2020-02-01", periodEnd: "2020-03-01" };
    const lineItems: InvoiceLine[] = [
      {
        model: "gpt-4o",
        dimension: "outputTokens",
        tier: 1,
        quantity: 300_000,
        unitPrice: "0.000009",
        amountMinor: 270,
        ...period,
      },
      {
        model: null,
        dimension: "requests",
        quantity: 40,
        unitPrice: "0.001",
        amountMinor: 4,
        periodStart: "2020-01-01",
        periodEnd: "2020-02-01",
        adjustment: true,
      },
    ];
    const invoice = {
      id: newInvoiceId(),
      tenantId: t.id,
      ...period,
      units: 300_040,
      amountMinor: 274,
      currency: "USD",
      status: "issued" as const,
      lineItems,
      billingAccountId: "acct_42",
      paymentMethodRef: "pm_1NzQ8x2eZvKYlo2C",
    };
    await withDb((db) => db.insert(invoices).values(invoice));
    const iso = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const read = { ...invoice, createdAt: iso, paidAt: null, voidedAt: null };
    expect(await admin.listInvoices({ tenantId: t.id })).toEqual({ invoices: [read], nextCursor: null });
    expect(await admin.getInvoice(invoice.id)).toEqual(read);
  });
});
