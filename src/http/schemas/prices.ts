// The schemas of the price book: the global book and a tenant's own prices share one shape.

import { z } from "@hono/zod-openapi";
import { isCurrency } from "../../core/money";
import { bookProblems, PRICE_DIMENSIONS } from "../../core/price-book";

/** A book holds at most this many prices, which keeps its PUT under the 64 KiB body limit. */
export const MAX_PRICES = 400;

const decimal = z.string().max(40).openapi({ example: "0.0000025" });

const TierSchema = z
  .strictObject({
    upTo: z
      .int()
      .min(1)
      .nullable()
      .openapi({ description: "Units of the period up to which this tier applies; null on the last tier: the rest." }),
    unitPrice: decimal,
  })
  .openapi("PriceTier");

const PriceSchema = z
  .strictObject({
    model: z.string().max(200).openapi({
      description: "An exact model name, a prefix ending in * (gpt-4o*), or * for every model.",
      example: "gpt-4o*",
    }),
    dimension: z.enum(PRICE_DIMENSIONS),
    unitPrice: decimal.openapi({
      description: "Per single unit (one token, one request), up to 12 decimals; with tiers, the first tier's.",
    }),
    effectiveFrom: z.string().openapi({ description: "The first UTC day it applies to.", example: "2026-12-01" }),
    tiers: z
      .array(TierSchema)
      .max(20)
      .optional()
      .openapi({ description: "Graduated tiers over the billing period, per model and dimension." }),
  })
  .openapi("Price");

export const PriceBookInputSchema = z
  .strictObject({
    currency: z.string().max(10).openapi({ description: "The billing currency (BILLING_CURRENCY).", example: "USD" }),
    prices: z.array(PriceSchema).max(MAX_PRICES),
  })
  .superRefine((book, ctx) => {
    if (!isCurrency(book.currency)) {
      ctx.addIssue({
        code: "custom",
        path: ["currency"],
        message: `${book.currency} is not an ISO 4217 currency one can invoice in`,
      });
    }
    for (const problem of bookProblems(book.prices)) {
      const path = problem.path.split(".").map((part) => (/^\d+$/.test(part) ? Number(part) : part));
      ctx.addIssue({ code: "custom", path: ["prices", ...path], message: problem.message });
    }
  })
  .openapi("PriceBookInput");

export const PriceBookSchema = z
  .object({
    currency: z.string(),
    prices: z.array(PriceSchema),
    fixedBefore: z.string().nullable().openapi({
      description:
        "Days before this one are invoiced: prices in force on them can't change. null: nothing invoiced yet.",
    }),
  })
  .openapi("PriceBook");
