// The webhook deliveries page, and sending a delivery again from it.

import { Hono } from "hono";
import { listDeliveries, redeliver } from "../../billing/webhooks/deliveries";
import type { GatewayEnv } from "../context";
import { Problem } from "../problem";
import { Layout } from "./layout";
import { Csrf, PAGE_HEADERS } from "./page";
import { Table } from "./table";

export const deliveryRoutes = new Hono<GatewayEnv>();

deliveryRoutes.get("/deliveries", async (c) => {
  const { items } = await listDeliveries(c.get("db"), { limit: 100 });
  const csrf = c.get("csrf");
  return c.html(
    <Layout title="Webhook deliveries" csrf={csrf}>
      <Table
        id="deliveries"
        rows={items}
        rowAttributes={(d) => ({ "data-delivery": d.id })}
        columns={[
          { header: "Delivery", cell: (d) => <code>{d.id}</code> },
          { header: "Event", cell: (d) => d.eventType },
          { header: "Status", cell: (d) => d.status },
          { header: "Attempts", class: "num", cell: (d) => d.attempts },
          { header: "Last error", cell: (d) => d.lastError ?? "" },
          {
            cell: (d) => (
              <form method="post" action={`/admin/ui/deliveries/${d.id}/redeliver`} class="inline">
                <Csrf token={csrf} />
                <button type="submit">Redeliver</button>
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
  return c.redirect("/admin/ui/deliveries", 303);
});
