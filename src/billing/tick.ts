// One billing tick: invoice the latest closed period, then send the webhooks that are due.

import type { Config } from "../config";
import { closedPeriod } from "../core/billing-period";
import { describeError } from "../core/errors";
import { log } from "../core/log";
import type { Database } from "../db/database";
import { type InvoiceRunResult, runInvoicing } from "./invoice-run";
import { billingSettings, webhookTarget } from "./settings";
import { type DispatchResult, deliverDue } from "./webhooks/dispatcher";

/**
 * Runs at the cron's scheduled time, which decides the period, never the wall clock: a
 * delayed or repeated tick bills the same period, and the run is idempotent.
 */
export async function billingTick(
  db: Database,
  config: Config,
  scheduledTime: number,
): Promise<{ run: InvoiceRunResult; delivery: DispatchResult }> {
  const now = new Date(scheduledTime);
  const period = closedPeriod(scheduledTime, config.BILLING_PERIOD, config.BILLING_GRACE_HOURS);
  // The two steps stand apart: a run that fails must not hold back webhooks already due
  // (invoice.paid and invoice.voided, retries of earlier ones).
  let run: InvoiceRunResult | Error;
  try {
    run = await runInvoicing(db, period, billingSettings(config), { now });
  } catch (err) {
    log.error("invoice run failed", { period, error: describeError(err) });
    run = err instanceof Error ? err : new Error(String(err));
  }
  const delivery = await deliverDue(db, webhookTarget(config), { now, limit: 500 });
  if (run instanceof Error) throw run;
  return { run, delivery };
}
