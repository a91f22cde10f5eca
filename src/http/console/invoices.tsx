// The unpaid-invoices page, and marking an invoice paid from it. Each invoice shows its lines
// (v2, or the v1 lines of one issued before the price book) and the payment method it carries.

import { Hono } from "hono";
import { listInvoices } from "../../billing/invoices";
import { transition } from "../admin/billing";
import type { GatewayEnv } from "../context";
import { InvoiceLines, money } from "./invoice-lines";
import { Layout } from "./layout";
import { Csrf, PAGE_HEADERS } from "./page";
import { Table } from "./table";

export const invoiceRoutes = new Hono<GatewayEnv>();

invoiceRoutes.get("/invoices", async (c) => {
  const { items } = await listInvoices(c.get("db"), { status: "issued", limit: 200 });
  const csrf = c.get("csrf");
  return c.html(
    <Layout title="Unpaid invoices" csrf={csrf}>
      <Table
        id="invoices"
        rows={items}
        rowAttributes={(i) => ({ "data-invoice": i.id })}
        columns={[
          { header: "Invoice", cell: (i) => <code>{i.id}</code> },
          { header: "Tenant", cell: (i) => <a href={`/admin/ui/tenants/${i.tenantId}`}>{i.tenantId}</a> },
          { header: "Period", cell: (i) => `${i.periodStart} to ${i.periodEnd}` },
          { header: "Units", class: "num", cell: (i) => i.units },
          // Amounts are in the currency's minor unit, which is not a hundredth everywhere.
          { header: "Amount", class: "num", cell: (i) => money(i.amountMinor, i.currency) },
          {
            header: "Payment method",
            cell: (i) => (i.paymentMethodRef ? <code>{i.paymentMethodRef}</code> : <span class="hint">none</span>),
          },
          { header: "Lines", cell: (i) => <InvoiceLines id={i.id} lines={i.lineItems} currency={i.currency} /> },
          {
            cell: (i) => (
              <form method="post" action={`/admin/ui/invoices/${i.id}/pay`} class="inline">
                <Csrf token={csrf} />
                <button type="submit">Mark paid</button>
              </form>
            ),
          },
        ]}
      />
      {items.length === 0 ? <p>Nothing is waiting to be paid.</p> : null}
    </Layout>,
    200,
    PAGE_HEADERS,
  );
});

invoiceRoutes.post("/invoices/:id/pay", async (c) => {
  await transition(c, c.req.param("id"), "paid");
  return c.redirect("/admin/ui/invoices", 303);
});
