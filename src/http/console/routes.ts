// The operator console at /admin/ui: server-rendered pages over the same repositories as the
// operator API. This module only mounts them, and the order is the security: Hono runs
// handlers in the order they were mounted, so what comes before consoleSession() is reachable
// without a session.

import { Hono } from "hono";
import { type GatewayEnv, withDatabase } from "../context";
import { assetRoutes } from "./assets";
import { deliveryRoutes } from "./deliveries";
import { consoleNotice } from "./flash";
import { fleetRoutes } from "./fleet";
import { invoiceRoutes } from "./invoices";
import { consoleOrigin, consoleSession, loginRoutes, logoutRoutes } from "./login";
import { pricePageRoutes } from "./prices";
import { consoleProblemPage } from "./problem-page";
import { tenantBillingRoutes } from "./tenant-billing";
import { tenantDetailRoutes } from "./tenant-detail";
import { tenantLimitRoutes } from "./tenant-limits";
import { tenantListRoutes } from "./tenant-list";

export const consoleRoutes = new Hono<GatewayEnv>();

consoleRoutes.use("*", consoleOrigin());
consoleRoutes.route("/", assetRoutes);
consoleRoutes.route("/", loginRoutes);
// Everything below needs a session; forms also need its CSRF token.
consoleRoutes.use("*", consoleSession());
consoleRoutes.use("*", withDatabase());
consoleRoutes.use("*", consoleNotice());
// After the session's checks: a form refused by them keeps its problem+json.
consoleRoutes.use("*", consoleProblemPage());
consoleRoutes.route("/", logoutRoutes);
consoleRoutes.route("/", tenantListRoutes);
consoleRoutes.route("/", tenantDetailRoutes);
consoleRoutes.route("/", tenantLimitRoutes);
consoleRoutes.route("/", tenantBillingRoutes);
consoleRoutes.route("/", pricePageRoutes);
consoleRoutes.route("/", invoiceRoutes);
consoleRoutes.route("/", deliveryRoutes);
consoleRoutes.route("/", fleetRoutes);
