// `?include=cost` on the usage reads: the open period's cost so far, beside the usage.

import type { Context } from "hono";
import { estimateOpenPeriod } from "../billing/estimate";
import { billingSettings } from "../billing/settings";
import type { UsageReport } from "../metering/usage-query";
import type { GatewayEnv } from "./context";

export async function withCost(
  c: Context<GatewayEnv>,
  tenantId: string,
  include: "cost" | undefined,
  usage: UsageReport,
  now: number,
) {
  if (include !== "cost") return usage;
  return { ...usage, cost: await estimateOpenPeriod(c.get("db"), tenantId, billingSettings(c.get("config")), now) };
}
