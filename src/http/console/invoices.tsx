// The unpaid-invoices page, and marking an invoice paid from it. Each invoice names its tenant
// and shows its lines (v2, or the v1 lines of one issued before the price book) and the
// payment method it carries.

import { Hono } from "hono";
import { listInvoices } from "../../billing/invoices";
import { transition } from "../admin/billing";
import type { GatewayEnv } from "../context";
import { doneRedirect } from "./flash";
import { Count, Money, When } from "./format";
import { InvoiceLines } from "./invoice-lines";
import { frame, Layout } from "./layout";
import { Csrf, PAGE_HEADERS } from "./page";
import { Table } from "./table";
import { TenantLink, tenantNames } from "./tenant-name";

export const invoiceRoutes = new Hono<GatewayEnv>();

invoiceRoutes.get("/invoices", async (c) => {
  const { items } = await listInvoices(c.get("db"), { status: "issued", limit: 200 });
  const names = await tenantNames(
    c.get("db"),
    items.map((i) => i.tenantId),
  );
  const csrf = c.get("csrf");
  return c.html(
    <Layout title="Unpaid invoices" {...frame(c)}>
      <Table
        id="invoices"
        label="Unpaid invoices"
        rows={items}
        rowAttributes={(i) => ({ "data-invoice": i.id })}
        columns={[
          { header: "Invoice", cell: (i) => <code>{i.id}</code> },
          { header: "Tenant", cell: (i) => <TenantLink id={i.tenantId} names={names} /> },
          {
            header: "Period",
            cell: (i) => (
              <>
                <When iso={i.periodStart} />
                {" to "}
                <When iso={i.periodEnd} />
              </>
            ),
          },
          { header: "Units", class: "num", cell: (i) => <Count n={i.units} /> },
          // Amounts are in the currency's minor unit, which is not a hundredth everywhere.
          { header: "Amount", class: "num", cell: (i) => <Money minor={i.amountMinor} currency={i.currency} /> },
          {
            header: "Payment method",
            cell: (i) => (i.paymentMethodRef ? <code>{i.paymentMethodRef}</code> : <span class="hint">none</span>),
          },
          { header: "Lines", cell: (i) => <InvoiceLines id={i.id} lines={i.lineItems} currency={i.currency} /> },
          {
            cell: (i) => (
              <form method="post" action={`/admin/ui/invoices/${i.id}/pay`} class="inline">
                <Csrf token={csrf} />
                <button type="submit" aria-label={`Mark paid, invoice ${i.id}`}>
                  Mark paid
                </button>
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
  return doneRedirect(c, "invoice-paid", "/admin/ui/invoices");
});
