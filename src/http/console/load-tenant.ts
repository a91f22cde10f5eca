// The console's one spelling of "no such tenant": a 404 tenant-not-found problem.

import type { Context } from "hono";
import { getTenant, type TenantView } from "../../db/tenants";
import { defaultLimits } from "../../defaults";
import type { GatewayEnv } from "../context";
import { Problem } from "../problem";

/** The 404 for a tenant id that names no tenant, for a write that found none to change. */
export function tenantNotFound(id: string): Problem {
  return new Problem(404, "tenant-not-found", `no tenant ${id}`);
}

/**
 * The tenant, or a thrown 404 tenant-not-found problem.
 *
 * @example
 * const tenant = await loadTenant(c, c.req.param("id"));
 */
export async function loadTenant(c: Context<GatewayEnv>, id: string): Promise<TenantView> {
  const tenant = await getTenant(c.get("db"), id, defaultLimits(c.get("config")));
  if (!tenant) throw tenantNotFound(id);
  return tenant;
}
