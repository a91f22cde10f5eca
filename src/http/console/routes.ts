// The operator console at /admin/ui: server-rendered pages over the same repositories as the
// operator API. This module only mounts them, and the order is the security: Hono runs
// handlers in the order they were mounted, so what comes before consoleSession() is reachable
// without a session.

import { Hono } from "hono";
import { type GatewayEnv, withDatabase } from "../context";
import { deliveryRoutes } from "./deliveries";
import { fleetRoutes } from "./fleet";
import { invoiceRoutes } from "./invoices";
import { CONSOLE_CSS } from "./layout";
import { consoleOrigin, consoleSession, loginRoutes, logoutRoutes } from "./login";
import { pricePageRoutes } from "./prices";
import { tenantBillingRoutes } from "./tenant-billing";
import { tenantDetailRoutes } from "./tenant-detail";
import { tenantListRoutes } from "./tenant-list";

export const consoleRoutes = new Hono<GatewayEnv>();

consoleRoutes.get("/app.css", (c) => c.body(CONSOLE_CSS, 200, { "content-type": "text/css; charset=utf-8" }));
consoleRoutes.use("*", consoleOrigin());
consoleRoutes.route("/", loginRoutes);
// Everything below needs a session; forms also need its CSRF token.
consoleRoutes.use("*", consoleSession());
consoleRoutes.use("*", withDatabase());
consoleRoutes.route("/", logoutRoutes);
consoleRoutes.route("/", tenantListRoutes);
consoleRoutes.route("/", tenantDetailRoutes);
consoleRoutes.route("/", tenantBillingRoutes);
consoleRoutes.route("/", pricePageRoutes);
consoleRoutes.route("/", invoiceRoutes);
consoleRoutes.route("/", deliveryRoutes);
consoleRoutes.route("/", fleetRoutes);
