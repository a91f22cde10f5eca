// The webhook deliveries page, and sending a delivery again from it. Each delivery names the
// tenant its event is about, and the page says when no BILLING_WEBHOOK_URL is set (then
// deliveries wait, pending, and nothing is sent).

import { Hono } from "hono";
import { webhookTarget } from "../../billing/settings";
import { type DeliveryView, listDeliveries, redeliver } from "../../billing/webhooks/deliveries";
import type { GatewayEnv } from "../context";
import { Problem } from "../problem";
import { doneRedirect } from "./flash";
import { Count, When } from "./format";
import { frame, Layout } from "./layout";
import { Csrf, PAGE_HEADERS } from "./page";
import { Table } from "./table";
import { TenantLink, tenantNames } from "./tenant-name";

/** The tenant an event is about: every event's data carries its tenantId. */
function tenantOf(d: DeliveryView): string | null {
  const data = d.payload.data;
  if (typeof data !== "object" || data === null || !("tenantId" in data)) return null;
  return typeof data.tenantId === "string" ? data.tenantId : null;
}

export const deliveryRoutes = new Hono<GatewayEnv>();

deliveryRoutes.get("/deliveries", async (c) => {
  const { items } = await listDeliveries(c.get("db"), { limit: 100 });
  const names = await tenantNames(
    c.get("db"),
    items.flatMap((d) => tenantOf(d) ?? []),
  );
  const target = webhookTarget(c.get("config"));
  const csrf = c.get("csrf");
  return c.html(
    <Layout title="Webhook deliveries" {...frame(c)}>
      {target ? (
        <p id="webhook-target">
          {"Sent to "}
          <code>{new URL(target.url).origin}</code>
          {", signed (Standard Webhooks) with BILLING_WEBHOOK_SECRET."}
        </p>
      ) : (
        <p class="notice" id="webhook-target">
          No webhook URL is configured: set <code>BILLING_WEBHOOK_URL</code> (and <code>BILLING_WEBHOOK_SECRET</code>)
          to send these. Until then deliveries are kept here, pending, and are sent once it is set.
        </p>
      )}
      <Table
        id="deliveries"
        label="Webhook deliveries"
        rows={items}
        rowAttributes={(d) => ({ "data-delivery": d.id })}
        columns={[
          { header: "Delivery", cell: (d) => <code>{d.id}</code> },
          { header: "Event", cell: (d) => d.eventType },
          {
            header: "Tenant",
            cell: (d) => {
              const id = tenantOf(d);
              return id ? <TenantLink id={id} names={names} /> : "";
            },
          },
          { header: "Status", cell: (d) => d.status },
          { header: "Attempts", class: "num", cell: (d) => <Count n={d.attempts} /> },
          { header: "Written", cell: (d) => <When iso={d.createdAt} /> },
          { header: "Delivered", cell: (d) => <When iso={d.deliveredAt} /> },
          { header: "Last error", cell: (d) => d.lastError ?? "" },
          {
            cell: (d) => (
              <form method="post" action={`/admin/ui/deliveries/${d.id}/redeliver`} class="inline">
                <Csrf token={csrf} />
                <button type="submit" aria-label={`Redeliver ${d.id}`}>
                  Redeliver
                </button>
              </form>
            ),
          },
        ]}
      />
      {items.length === 0 ? <p>No webhook deliveries yet.</p> : null}
    </Layout>,
    200,
    PAGE_HEADERS,
  );
});

deliveryRoutes.post("/deliveries/:id/redeliver", async (c) => {
  const id = c.req.param("id");
  if (!(await redeliver(c.get("db"), id))) throw new Problem(404, "delivery-not-found", `no delivery ${id}`);
  return doneRedirect(c, "redelivered", "/admin/ui/deliveries");
});
