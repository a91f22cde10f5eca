// The global price book's page, and the POSTs of its forms: add a price, remove one. A form
// refused for a mistake answers with the page, every problem by the form, and what was typed
// (400; 409 for a change to invoiced days, as the API answers).

import { type Context, Hono } from "hono";
import { isoDay } from "../../core/calendar";
import type { GatewayEnv } from "../context";
import { doneRedirect, type NoticeCode } from "./flash";
import { readForm } from "./form";
import { frame, Layout } from "./layout";
import { PAGE_HEADERS } from "./page";
import { addPrice, loadPrices, type PriceEdit, type RefusedPrices, removePrice, sentPriceValues } from "./price-edit";
import { PricesSection } from "./prices-section";

async function pricesPage(c: Context<GatewayEnv>, refused?: RefusedPrices) {
  const { book, warning } = await loadPrices(c, null);
  return (
    <Layout title="Prices" {...frame(c)}>
      <p>
        {`The global price book, in ${book.currency}: what every tenant pays, except for the dimensions a tenant has prices of its own (on the tenant's page), which override these dimension by dimension. Usage is priced at the prices in force on its own day, and the most specific model pattern wins.`}
      </p>
      <PricesSection
        action="/admin/ui/prices"
        book={book}
        warning={warning}
        empty="No global prices: every unit costs the tenant's unitPrice, else BILLING_UNIT_COST."
        today={isoDay(Date.now())}
        csrf={c.get("csrf")}
        refused={refused}
      />
    </Layout>
  );
}

async function answer(c: Context<GatewayEnv>, edit: PriceEdit, done: NoticeCode) {
  if (edit.saved) return doneRedirect(c, done, "/admin/ui/prices");
  return c.html(await pricesPage(c, edit.refused), edit.status, PAGE_HEADERS);
}

export const pricePageRoutes = new Hono<GatewayEnv>();

pricePageRoutes.get("/prices", async (c) => c.html(await pricesPage(c), 200, PAGE_HEADERS));

pricePageRoutes.post("/prices", async (c) =>
  answer(c, await addPrice(c, null, sentPriceValues(await readForm(c))), "price-added"),
);

pricePageRoutes.post("/prices/remove", async (c) =>
  answer(c, await removePrice(c, null, await readForm(c)), "price-removed"),
);
