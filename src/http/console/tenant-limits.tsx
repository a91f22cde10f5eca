// The POSTs of a tenant page's status and per-route forms: suspend or activate (as PATCH
// /admin/v1/tenants/:id does), and set or remove one route's entry in the quota's `routes`
// (as PUT /admin/v1/tenants/:id/quota would with the whole quota). Each goes through the
// tenant service, so the limiter confirms it before the page says it is done.

import { Hono } from "hono";
import type { RouteOverride } from "../../core/limits";
import type { QuotaView } from "../../db/tenants";
import type { GatewayEnv } from "../context";
import { Problem } from "../problem";
import { tenantAdmin } from "../tenant-admin";
import { doneRedirect } from "./flash";
import { readForm, textField } from "./form";
import { PAGE_HEADERS } from "./page";
import { parseRouteValues, sentRouteValues } from "./route-limits";
import { changeOrRefuse, tenantPage } from "./tenant-detail";

/** The most route entries a quota holds (QuotaSchema's limit). */
const MAX_ROUTES = 100;

/** The stored quota with other routes, written back as it was read (alerts stay inherited). */
const withRoutes = (q: QuotaView, routes: Record<string, RouteOverride>) => ({ ...q, routes });

export const tenantLimitRoutes = new Hono<GatewayEnv>();

tenantLimitRoutes.post("/tenants/:id/status", async (c) => {
  const id = c.req.param("id");
  const status = textField(await readForm(c), "status");
  if (status !== "active" && status !== "suspended") {
    throw new Problem(400, "invalid-form", 'status must be "active" or "suspended"');
  }
  await tenantAdmin(c).update(id, { status });
  return doneRedirect(c, status === "active" ? "activated" : "suspended", `/admin/ui/tenants/${id}`);
});

tenantLimitRoutes.post("/tenants/:id/routes", async (c) => {
  const id = c.req.param("id");
  const tenant = await tenantAdmin(c).get(id);
  const values = sentRouteValues(await readForm(c));
  const parsed = parseRouteValues(values);
  const refuse = async (error: string) =>
    c.html(await tenantPage(c, id, undefined, { error, route: values }), 400, PAGE_HEADERS);
  if ("error" in parsed) return refuse(parsed.error);
  const routes = tenant.quota.routes;
  if (!Object.hasOwn(routes, parsed.route) && Object.keys(routes).length >= MAX_ROUTES) {
    return refuse(`a quota holds at most ${MAX_ROUTES} routes: remove one first`);
  }
  const entries = { ...routes, [parsed.route]: parsed.entry };
  const refused = await changeOrRefuse(c, id, () => tenantAdmin(c).setQuota(id, withRoutes(tenant.quota, entries)), {
    route: values,
  });
  if (refused) return refused;
  return doneRedirect(c, "route-saved", `/admin/ui/tenants/${id}`);
});

tenantLimitRoutes.post("/tenants/:id/routes/remove", async (c) => {
  const id = c.req.param("id");
  const tenant = await tenantAdmin(c).get(id);
  const route = textField(await readForm(c), "route") ?? "";
  // A route removed already (another tab, a double click) is gone, as asked: nothing to write.
  if (Object.hasOwn(tenant.quota.routes, route)) {
    const { [route]: _removed, ...rest } = tenant.quota.routes;
    await tenantAdmin(c).setQuota(id, withRoutes(tenant.quota, rest));
  }
  return doneRedirect(c, "route-removed", `/admin/ui/tenants/${id}`);
});
