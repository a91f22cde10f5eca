// The POSTs of a tenant page's billing forms: its own prices (add one, remove one, scoped to
// the tenant as PUT /admin/v1/tenants/:id/prices is) and its payment-method reference (as
// PATCH /admin/v1/tenants/:id sets it). A refused form answers with the tenant's page.

import { type Context, Hono } from "hono";
import type { GatewayEnv } from "../context";
import { tenantAdmin } from "../tenant-admin";
import { parsePaymentMethod } from "./billing-section";
import { doneRedirect, type NoticeCode } from "./flash";
import { readForm } from "./form";
import { PAGE_HEADERS } from "./page";
import { addPrice, type PriceEdit, removePrice, sentPriceValues } from "./price-edit";
import { tenantPage } from "./tenant-detail";

async function answer(c: Context<GatewayEnv>, id: string, edit: PriceEdit, done: NoticeCode) {
  if (edit.saved) return doneRedirect(c, done, `/admin/ui/tenants/${id}`);
  const refused = { error: "see the problems by the Prices form below.", prices: edit.refused };
  return c.html(await tenantPage(c, id, undefined, refused), edit.status, PAGE_HEADERS);
}

export const tenantBillingRoutes = new Hono<GatewayEnv>();

tenantBillingRoutes.post("/tenants/:id/prices", async (c) => {
  const id = c.req.param("id");
  // A missing tenant is a 404 before its form is read, as on the other tenant forms.
  await tenantAdmin(c).get(id);
  return answer(c, id, await addPrice(c, id, sentPriceValues(await readForm(c))), "price-added");
});

tenantBillingRoutes.post("/tenants/:id/prices/remove", async (c) => {
  const id = c.req.param("id");
  await tenantAdmin(c).get(id);
  return answer(c, id, await removePrice(c, id, await readForm(c)), "price-removed");
});

tenantBillingRoutes.post("/tenants/:id/payment-method", async (c) => {
  const id = c.req.param("id");
  const parsed = parsePaymentMethod(await readForm(c));
  if ("error" in parsed) {
    const refused = { error: "see the problem by the payment method form below.", paymentMethod: parsed };
    return c.html(await tenantPage(c, id, undefined, refused), 400, PAGE_HEADERS);
  }
  await tenantAdmin(c).update(id, { paymentMethodRef: parsed.ref });
  return doneRedirect(c, "payment-method-saved", `/admin/ui/tenants/${id}`);
});
