// The `aegis` commands that read a tenant whole or change its quota: tenants get, quotas
// get, set and route.

import type { AegisAdmin } from "../client/index";
import type { Tenant } from "../client/types";
import { DAY_MS, isoDay } from "../core/calendar";
import type { Command } from "./commands";
import { need, str, UsageError } from "./flags";
import { keyTable } from "./key-flags";
import { QUOTA_HEADERS, quotaCells, quotaPatch } from "./quota-flags";
import { routesPatch } from "./route-flags";
import { table } from "./table";
import { describePrices, describeQuota, describeUsageToday } from "./tenant-view";

export const TENANT_HEADERS = ["id", "name", "status", ...QUOTA_HEADERS];
export const tenantRow = (t: Tenant) => [t.id, t.name, t.status, ...quotaCells(t.quota)];

/**
 * Everything about a tenant, read at once once the tenant is known to exist. Usage is kept
 * per UTC day (src/metering/ingest.ts), so today's is the UTC day of `now` (`to` is exclusive).
 */
async function wholeTenant(admin: AegisAdmin, id: string, now: number) {
  const tenant = await admin.getTenant(id);
  const [keys, own, global, usageToday] = await Promise.all([
    admin.listKeys(id),
    admin.getTenantPrices(id),
    admin.getPrices(),
    admin.usage(id, { from: isoDay(now), to: isoDay(now + DAY_MS) }),
  ]);
  return { tenant, keys: keys.keys, prices: { own, global }, usageToday };
}

export const tenantCommands: Record<string, Command> = {
  async "tenants get"(admin, args, _flags, now) {
    const id = need(args, 0, "TENANT (a tenant id)");
    const { tenant: t, keys, prices, usageToday } = await wholeTenant(admin, id, now);
    const text = [
      table(TENANT_HEADERS, [tenantRow(t)]),
      `created ${t.createdAt}, updated ${t.updatedAt}`,
      `billing account: ${t.billingAccountId ?? "none"}`,
      `payment method: ${t.paymentMethodRef ?? "none"}`,
      "",
      "limits:",
      describeQuota(t),
      "",
      `prices: ${describePrices(t.id, prices.own, prices.global)}`,
      "",
      keys.length === 0 ? "keys: none" : `keys:\n${keyTable(keys)}`,
      "",
      describeUsageToday(usageToday, t.quota.timeZone, now),
    ];
    return { json: { ...t, keys, prices, usageToday }, text: text.join("\n") };
  },
  async "quotas get"(admin, args) {
    const t = await admin.getTenant(need(args, 0, "TENANT (a tenant id)"));
    return {
      json: { tenantId: t.id, quota: t.quota, override: t.override },
      text: `quota of ${t.id} (${t.name}):\n${describeQuota(t)}`,
    };
  },
  async "quotas set"(admin, args, flags) {
    const id = need(args, 0, "TENANT (a tenant id)");
    const patch = quotaPatch(flags, "quotas set");
    const current = await admin.getTenant(id);
    const t = await admin.setQuota(id, patch(current.quota));
    return { json: t, text: `quota of ${t.id} set\n${table(TENANT_HEADERS, [tenantRow(t)])}` };
  },
  async "quotas route"(admin, args, flags) {
    const id = need(args, 0, "TENANT (a tenant id)");
    const route = need(args, 1, "ROUTE (a route key, such as chat)");
    const patch = routesPatch(flags, route);
    // The PUT replaces the whole quota: the rest of it is sent back as it is.
    const current = await admin.getTenant(id);
    const t = await admin.setQuota(id, { ...current.quota, routes: patch(current.quota.routes) });
    const done = t.quota.routes[route]
      ? `limits of route ${route} of ${t.id} set`
      : `route ${route} of ${t.id} takes the tenant's limits`;
    return { json: t, text: `${done}\n${describeQuota(t)}` };
  },
  async "tenants update"(admin, args, flags) {
    const id = need(args, 0, "TENANT (a tenant id)");
    const name = str(flags, "name");
    const ref = str(flags, "payment-method");
    const account = str(flags, "billing-account");
    if (name === undefined && ref === undefined && account === undefined) {
      throw new UsageError(
        "tenants update needs --name, --payment-method or --billing-account (REF or ID, or none to remove it)",
      );
    }
    const t = await admin.updateTenant(id, {
      ...(name !== undefined ? { name } : {}),
      ...(ref !== undefined ? { paymentMethodRef: ref === "none" ? null : ref } : {}),
      ...(account !== undefined ? { billingAccountId: account === "none" ? null : account } : {}),
    });
    return {
      json: t,
      text: `updated ${t.id}: ${t.name}, billing account ${t.billingAccountId ?? "none"}, payment method ${t.paymentMethodRef ?? "none"}`,
    };
  },
};
