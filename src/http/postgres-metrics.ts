// The Worker's GET /metrics: the state Postgres holds (src/db/metrics-state.ts) in the
// Prometheus text format, with prom-client (it runs in workerd under nodejs_compat), in a
// registry made for the one scrape: a Worker keeps nothing between requests. prom-client is
// imported when a scrape renders, not when the Worker starts: every other request's cold
// start would pay for evaluating it.
//
// The read is bounded in time, in Postgres too (statement_timeout), so that a read given up
// on does not keep running there; a read that fails or runs out of time answers 503
// `metrics-unavailable`, so a scraper records the target as down rather than a stale value.

import { describeError } from "../core/errors";
import { MODEL_LABEL_LENGTH } from "../core/gateway-metrics";
import { log } from "../core/log";
import { withTimeout } from "../core/timeout";
import type { DatabaseHandle } from "../db/database";
import { type MetricsState, OTHER, readMetricsState, USAGE_DIMENSIONS } from "../db/metrics-state";
import { Problem } from "./problem";

/** Tenants with the most units today that keep a `tenant` label; the rest are summed as `_other`. */
export const METRICS_TOP_TENANTS = 20;
/** Models with the most units today that keep a `model` label; the rest are summed as `_other`. */
export const METRICS_TOP_MODELS = 50;
/** How long the scrape may read Postgres. */
export const METRICS_READ_TIMEOUT_MS = 5_000;

const DELIVERY_STATUSES = ["pending", "delivered", "failed", "disabled"];

export interface PostgresMetricsOptions {
  now?: number;
  timeoutMs?: number;
  /**
   * Takes the promise of closing the handle: a Worker hands it to waitUntil, so that the
   * answer does not wait for it and the runtime does not cut it off. By default the render
   * waits for it.
   */
  release?: (closing: Promise<void>) => void | Promise<void>;
}

/** Reads `handle`'s database, then closes it, and renders the exposition. */
export async function renderPostgresMetrics(
  handle: DatabaseHandle,
  {
    now = Date.now(),
    timeoutMs = METRICS_READ_TIMEOUT_MS,
    release = (closing) => closing,
  }: PostgresMetricsOptions = {},
): Promise<{ contentType: string; body: string }> {
  let state: MetricsState;
  try {
    state = await withTimeout(
      readMetricsState(handle.db, {
        now,
        topTenants: METRICS_TOP_TENANTS,
        topModels: METRICS_TOP_MODELS,
        statementTimeoutMs: timeoutMs,
      }),
      timeoutMs,
      () => new Error(`Postgres did not answer in ${timeoutMs} ms`),
    );
  } catch (err) {
    log.error("metrics read failed", { error: describeError(err) });
    throw new Problem(503, "metrics-unavailable", "the metrics could not be read from Postgres; try again");
  } finally {
    // After a timeout the close waits for Postgres to cancel the statement (statement_timeout)
    // and the transaction to roll back; a failed close is not the scrape's failure.
    await release(handle.close().catch(() => {}));
  }
  return exposition(state, now);
}

async function exposition(state: MetricsState, now: number): Promise<{ contentType: string; body: string }> {
  const { Gauge, Registry } = await import("prom-client");
  const registry = new Registry();
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Gauge<L>({ name, help, labelNames, registers: [registry] });

  const usage = gauge(
    "aegis_usage_today",
    `Usage today (UTC) from the daily rollup, by route, model and dimension; tenant is one of the ${METRICS_TOP_TENANTS} with the most units today, or ${OTHER} for the rest summed (models likewise, top ${METRICS_TOP_MODELS}, each cut to ${MODEL_LABEL_LENGTH} characters).`,
    ["tenant", "route", "model", "dimension"],
  );
  for (const row of state.usageToday)
    for (const dimension of USAGE_DIMENSIONS)
      usage.set({ tenant: row.tenant, route: row.route, model: row.model, dimension }, row[dimension]);
  gauge("aegis_usage_today_tenants", "Tenants with usage in today's rollup, all of them.").set(state.tenantsToday);

  const late = gauge(
    "aegis_usage_late",
    "Usage for days already invoiced, waiting in Postgres (usage_late) for the next invoice's adjustment lines.",
    ["dimension"],
  );
  for (const dimension of USAGE_DIMENSIONS) late.set({ dimension }, state.late[dimension]);

  const deliveries = gauge("aegis_webhook_deliveries", "Webhook deliveries by status.", ["status"]);
  for (const status of new Set([...DELIVERY_STATUSES, ...Object.keys(state.deliveries)]))
    deliveries.set({ status }, state.deliveries[status] ?? 0);
  gauge(
    "aegis_webhook_oldest_pending_seconds",
    "Age of the oldest pending webhook delivery; 0 when none is pending.",
  ).set(state.oldestPendingDeliveryMs === null ? 0 : Math.max(0, (now - state.oldestPendingDeliveryMs) / 1000));

  const seconds = (ms: number | null | undefined) => (ms == null ? 0 : ms / 1000);
  gauge(
    "aegis_billing_billed_through_timestamp_seconds",
    "Start (UTC midnight) of the first day not invoiced yet, as the last invoice run left it; 0 before any run.",
  ).set(seconds(state.billedThroughMs));
  const last = state.lastInvoice;
  gauge(
    "aegis_invoice_last_created_timestamp_seconds",
    "When the newest issued or paid invoice was written (drafts and voided ones are not counted); 0 when none.",
  ).set(seconds(last?.createdMs));
  gauge(
    "aegis_invoice_last_period_end_timestamp_seconds",
    "End (exclusive, UTC midnight) of the latest period with an issued or paid invoice; 0 when none.",
  ).set(seconds(last?.periodEndMs));
  gauge(
    "aegis_invoice_last_period_invoices",
    "Issued or paid invoices of the latest invoiced period (drafts and voided ones are not counted).",
  ).set(last?.invoices ?? 0);
  const amount = gauge(
    "aegis_invoice_last_period_amount_minor",
    "Total of the latest invoiced period's issued or paid invoices, in minor units of each currency.",
    ["currency"],
  );
  for (const [currency, minor] of Object.entries(last?.amountMinor ?? {})) amount.set({ currency }, minor);

  return { contentType: registry.contentType, body: await registry.metrics() };
}
