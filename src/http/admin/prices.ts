// Operator routes for the price book: the global book, and a tenant's own prices that
// override it dimension by dimension (docs/pricing.md).

import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { readBook, replaceBook } from "../../billing/prices";
import type { PriceEntry } from "../../core/price-book";
import { type GatewayEnv, openApiApp } from "../context";
import { Problem } from "../problem";
import { json, PriceBookInputSchema, PriceBookSchema, problems, TenantIdParamSchema } from "../schemas";
import { tenantAdmin, tenantNotFound } from "../tenant-admin";

const tags = ["Prices"];
const security = [{ adminToken: [] }];

async function putBook(
  c: Context<GatewayEnv>,
  tenantId: string | null,
  body: { currency: string; prices: PriceEntry[] },
) {
  const billing = c.get("config").BILLING_CURRENCY;
  if (body.currency.toUpperCase() !== billing) {
    throw new Problem(
      400,
      "currency-mismatch",
      `this gateway invoices in ${billing} (BILLING_CURRENCY): give the book's prices in ${billing}`,
      { currency: billing },
    );
  }
  const result = await replaceBook(c.get("db"), tenantId, billing, body.prices);
  if (result.result === "missing-tenant") throw tenantNotFound(tenantId ?? "");
  if (result.result === "history") {
    throw new Problem(409, "price-history-fixed", result.message, {
      fixedBefore: result.fixedBefore,
      errors: [{ path: result.path, message: result.message }],
    });
  }
  return result.book;
}

const bookBody = {
  body: {
    required: true,
    content: { "application/json": { schema: PriceBookInputSchema } },
  },
};

export const priceRoutes = openApiApp()
  .openapi(
    createRoute({
      method: "get",
      path: "/prices",
      tags,
      security,
      summary: "Read the global price book",
      responses: { 200: { description: "The book", ...json(PriceBookSchema) }, ...problems(401) },
    }),
    async (c) => c.json(await readBook(c.get("db"), null, c.get("config").BILLING_CURRENCY), 200),
  )
  .openapi(
    createRoute({
      method: "put",
      path: "/prices",
      tags,
      security,
      summary: "Replace the global price book",
      description:
        "Replaces every global price. Prices for days already invoiced (before fixedBefore) must be kept as they are; change a price by adding one with a later effectiveFrom.",
      request: bookBody,
      responses: { 200: { description: "The book as stored", ...json(PriceBookSchema) }, ...problems(400, 401, 409) },
    }),
    async (c) => c.json(await putBook(c, null, c.req.valid("json")), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/tenants/{id}/prices",
      tags,
      security,
      summary: "Read a tenant's own prices",
      description: "The prices that override the global book for this tenant, dimension by dimension.",
      request: { params: TenantIdParamSchema },
      responses: { 200: { description: "The tenant's prices", ...json(PriceBookSchema) }, ...problems(400, 401, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      await tenantAdmin(c).get(id);
      return c.json(await readBook(c.get("db"), id, c.get("config").BILLING_CURRENCY), 200);
    },
  )
  .openapi(
    createRoute({
      method: "put",
      path: "/tenants/{id}/prices",
      tags,
      security,
      summary: "Replace a tenant's own prices",
      description:
        "A tenant's price for a model's dimension replaces the global one for that dimension only. An empty list puts the tenant back on the global book (history kept as in PUT /prices).",
      request: { params: TenantIdParamSchema, ...bookBody },
      responses: {
        200: { description: "The tenant's prices as stored", ...json(PriceBookSchema) },
        ...problems(400, 401, 404, 409),
      },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      return c.json(await putBook(c, id, c.req.valid("json")), 200);
    },
  );
