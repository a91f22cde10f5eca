// `?include=cost` on the usage reads: the open period's cost so far, beside the usage.

import type { Context } from "hono";
import { estimateOpenPeriod } from "../billing/estimate";
import { BookCurrencyError } from "../billing/invoice-lines";
import { billingSettings } from "../billing/settings";
import type { UsageReport } from "../metering/usage-query";
import type { GatewayEnv } from "./context";
import { Problem } from "./problem";

export async function withCost(
  c: Context<GatewayEnv>,
  tenantId: string,
  include: "cost" | undefined,
  usage: UsageReport,
  now: number,
) {
  if (include !== "cost") return usage;
  try {
    return { ...usage, cost: await estimateOpenPeriod(c.get("db"), tenantId, billingSettings(c.get("config")), now) };
  } catch (err) {
    // The operator's book is in another currency than BILLING_CURRENCY: nothing to price with.
    if (err instanceof BookCurrencyError) {
      throw new Problem(500, "misconfigured", `the cost can't be estimated: ${err.message}`);
    }
    throw err;
  }
}
