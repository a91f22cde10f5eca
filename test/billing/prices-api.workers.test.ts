// The price book's operator API in workerd: every bad book is a 400 problem+json naming
// each problem's place, a tenant's prices round-trip as stored, and the payment-method
// reference refuses card data. Valid global books are only written in price-book.workers
// .test.ts, on a database of its own: the global book prices every tenant's invoices.

import { describe, expect, it } from "vitest";
import { admin, adminJson } from "../support/workers/helpers";

interface ProblemBody {
  status: number;
  code: string;
  detail: string;
  errors?: { path: string; message: string }[];
}

async function problem(res: Response): Promise<ProblemBody> {
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const body = (await res.json()) as ProblemBody;
  expect(body.status).toBe(res.status);
  return body;
}

const price = (extra: Record<string, unknown> = {}) => ({
  model: "gpt-4o*",
  dimension: "outputTokens",
  unitPrice: "0.00001",
  effectiveFrom: "2040-01-01",
  ...extra,
});
const put = (path: string, json: unknown) => admin(path, { method: "PUT", json });

describe("PUT /admin/v1/prices refuses a bad book with problem+json", () => {
  it.each([
    ["an unknown currency", { currency: "ABC", prices: [price()] }, ["currency"]],
    ["a metal, not money", { currency: "XAU", prices: [price()] }, ["currency"]],
    [
      "more than 12 decimals",
      { currency: "USD", prices: [price({ unitPrice: "0.0000000000001" })] },
      ["prices.0.unitPrice"],
    ],
    [
      "a price that is not a decimal",
      { currency: "USD", prices: [price({ unitPrice: "1e-6" })] },
      ["prices.0.unitPrice"],
    ],
    ["a pattern that can never match", { currency: "USD", prices: [price({ model: "gpt*4o" })] }, ["prices.0.model"]],
    [
      "a day that does not exist",
      { currency: "USD", prices: [price({ effectiveFrom: "2040-02-30" })] },
      ["prices.0.effectiveFrom"],
    ],
    [
      "an unknown dimension",
      { currency: "USD", prices: [price({ dimension: "imageTokens" })] },
      ["prices.0.dimension"],
    ],
    [
      "overlapping tiers",
      {
        currency: "USD",
        prices: [
          price({
            tiers: [
              { upTo: 100, unitPrice: "0.00001" },
              { upTo: 50, unitPrice: "0.000008" },
              { upTo: null, unitPrice: "0.000006" },
            ],
          }),
        ],
      },
      ["prices.0.tiers.1.upTo"],
    ],
    [
      "a closed last tier",
      { currency: "USD", prices: [price({ tiers: [{ upTo: 100, unitPrice: "0.00001" }] })] },
      ["prices.0.tiers.0.upTo"],
    ],
    [
      "the same model, dimension and day twice",
      { currency: "USD", prices: [price(), price({ unitPrice: "0.00002" })] },
      ["prices.1.effectiveFrom"],
    ],
    ["an unknown field", { currency: "USD", prices: [price({ colour: "blue" })] }, ["prices.0"]],
  ])("%s: 400 invalid-request at its place", async (_what, body, paths) => {
    const res = await put("/prices", body);
    expect(res.status).toBe(400);
    const p = await problem(res);
    expect(p.code).toBe("invalid-request");
    expect(p.errors?.map((e) => e.path)).toEqual(paths);
  });

  it("reports every problem of a book at once", async () => {
    const res = await put("/prices", {
      currency: "USD",
      prices: [price({ model: "*gpt" }), price({ model: "m", unitPrice: "0.1234567890123" }), price({ model: "ok" })],
    });
    expect((await problem(res)).errors?.map((e) => e.path)).toEqual(["prices.0.model", "prices.1.unitPrice"]);
  });

  it("refuses a book in another currency than BILLING_CURRENCY with currency-mismatch", async () => {
    const res = await put("/prices", { currency: "EUR", prices: [price()] });
    expect(res.status).toBe(400);
    const p = await problem(res);
    expect(p.code).toBe("currency-mismatch");
    expect(p.detail).toContain("USD");
  });
});

describe("a tenant's own prices", () => {
  it("round-trip as stored (decimals without trailing zeros), and an empty list clears them", async () => {
    const { id } = await adminJson<{ id: string }>("/tenants", { method: "POST", json: { name: "own prices" } });
    const book = {
      currency: "usd",
      prices: [
        price({
          unitPrice: "0.000010",
          tiers: [
            { upTo: 1000, unitPrice: "0.00001" },
            { upTo: null, unitPrice: "0.0000080" },
          ],
        }),
        price({ model: "claude-sonnet-4", dimension: "requests", unitPrice: "0.5" }),
      ],
    };
    const stored = await adminJson(`/tenants/${id}/prices`, { method: "PUT", json: book });
    const expected = {
      currency: "USD",
      prices: [
        { model: "claude-sonnet-4", dimension: "requests", unitPrice: "0.5", effectiveFrom: "2040-01-01" },
        {
          ...price(),
          tiers: [
            { upTo: 1000, unitPrice: "0.00001" },
            { upTo: null, unitPrice: "0.000008" },
          ],
        },
      ],
    };
    expect(stored).toMatchObject(expected);
    expect(await adminJson(`/tenants/${id}/prices`)).toMatchObject(expected);
    const cleared = await adminJson<{ prices: unknown[] }>(`/tenants/${id}/prices`, {
      method: "PUT",
      json: { currency: "USD", prices: [] },
    });
    expect(cleared.prices).toEqual([]);
  });

  it("answers 404 for an unknown tenant, and 400 for a bad book there too", async () => {
    const missing = await put("/tenants/tnaaaaaaaaaaaaaaaa/prices", { currency: "USD", prices: [] });
    expect(missing.status).toBe(404);
    expect((await problem(missing)).code).toBe("tenant-not-found");
    const { id } = await adminJson<{ id: string }>("/tenants", { method: "POST", json: { name: "bad book" } });
    const bad = await put(`/tenants/${id}/prices`, { currency: "USD", prices: [price({ model: "" })] });
    expect((await problem(bad)).errors?.map((e) => e.path)).toEqual(["prices.0.model"]);
  });
});

describe("a tenant's payment-method reference", () => {
  it("is stored and shown, and card data is refused", async () => {
    const created = await adminJson<{ id: string; paymentMethodRef: string | null }>("/tenants", {
      method: "POST",
      json: { name: "payer", paymentMethodRef: "cus_9s6XKzkNRiz8i3" },
    });
    expect(created.paymentMethodRef).toBe("cus_9s6XKzkNRiz8i3");
    for (const card of ["4242424242424242", "4242-4242-4242-4242", "4242 4242 4242 4242"]) {
      const res = admin(`/tenants/${created.id}`, { method: "PATCH", json: { paymentMethodRef: card } });
      const p = await problem(await res);
      expect([p.status, p.code, p.errors?.map((e) => e.path)]).toEqual([400, "invalid-request", ["paymentMethodRef"]]);
    }
    const changed = await adminJson<{ paymentMethodRef: string | null }>(`/tenants/${created.id}`, {
      method: "PATCH",
      json: { paymentMethodRef: "pm_1NzQ8x2eZvKYlo2C" },
    });
    expect(changed.paymentMethodRef).toBe("pm_1NzQ8x2eZvKYlo2C");
    const cleared = await adminJson<{ paymentMethodRef: string | null }>(`/tenants/${created.id}`, {
      method: "PATCH",
      json: { paymentMethodRef: null },
    });
    expect(cleared.paymentMethodRef).toBeNull();
  });
});
