// What the Worker's GET /metrics reads from Postgres: today's usage from the rollup, the late
// usage waiting for the next invoice, the webhook backlog and the last invoice run. A Worker
// keeps no counters of its own (many isolates, none scraped), so its exposition is the state
// Postgres holds, read at scrape time.
//
// Per-tenant rows are bounded here, in SQL: the `topTenants` tenants with the most units today
// keep their id, every other tenant's usage is summed under OTHER; models likewise.

import { type SQL, sql } from "drizzle-orm";
import { MODEL_LABEL_LENGTH } from "../core/gateway-metrics";
import { type Database, rowsOf } from "./database";

/** The tenant (or model) label of everything past the top ones; no tenant id (`tn…`) is spelled so. */
export const OTHER = "_other";

/** The usage dimensions of a rollup row, as the metrics name them. */
export const USAGE_DIMENSIONS = ["requests", "units", "input", "output", "cached_input"] as const;
export type UsageDimension = (typeof USAGE_DIMENSIONS)[number];
export type DimensionValues = Record<UsageDimension, number>;

export interface UsageToday extends DimensionValues {
  tenant: string;
  route: string;
  /** "" when the rollup knows no model. */
  model: string;
}

export interface MetricsState {
  /** The UTC day the rollup rows are of. */
  day: string;
  usageToday: UsageToday[];
  /** Tenants with usage today, all of them (those folded into OTHER included). */
  tenantsToday: number;
  /** Usage for days already invoiced, waiting in usage_late for the next invoice's adjustment lines. */
  late: DimensionValues;
  /** Webhook deliveries by status. */
  deliveries: Record<string, number>;
  /** Epoch ms of the oldest pending delivery's creation; null when none is pending. */
  oldestPendingDeliveryMs: number | null;
  /** The first day not invoiced yet (billing_state.billed_through), epoch ms of its UTC midnight; null before any run. */
  billedThroughMs: number | null;
  /** The newest invoice: when it was written, and its period's invoices and amounts. */
  lastInvoice: { createdMs: number; periodEndMs: number; invoices: number; amountMinor: Record<string, number> } | null;
}

export interface MetricsStateOptions {
  /** Now, epoch ms: today is its UTC day. */
  now: number;
  /** Tenants that keep their own label. */
  topTenants: number;
  /** Models that keep their own label. */
  topModels: number;
  /**
   * Postgres cancels any of the reads that runs longer (statement_timeout, for this
   * transaction only): a caller that stops waiting would otherwise leave it running there.
   */
  statementTimeoutMs: number;
}

const SUMS = sql.raw(
  "sum(requests)::float8 AS requests, sum(units)::float8 AS units, sum(input_tokens)::float8 AS input, sum(output_tokens)::float8 AS output, sum(cached_input_tokens)::float8 AS cached_input",
);

/** The statuses of an invoice that counts as invoiced: not a draft, not voided. */
const INVOICED = sql.raw("('issued', 'paid')");

const dimensions = (row: Partial<Record<UsageDimension, unknown>> | undefined): DimensionValues =>
  Object.fromEntries(USAGE_DIMENSIONS.map((d) => [d, Number(row?.[d] ?? 0)])) as DimensionValues;

/**
 * Reads the state in one read-only transaction: one snapshot for all the reads (repeatable
 * read). The reads share one budget, `statementTimeoutMs` from the start, which Postgres
 * enforces too: each statement's timeout is what is left of it, so a read the scrape gave
 * up on stops in Postgres, and no later read starts.
 */
export function readMetricsState(db: Database, options: MetricsStateOptions): Promise<MetricsState> {
  const deadline = Date.now() + options.statementTimeoutMs;
  return db.transaction(
    async (tx) => {
      const run: Run = async (query) => {
        const left = Math.floor(deadline - Date.now());
        if (left <= 0) throw new Error(`the metrics reads took more than ${options.statementTimeoutMs} ms`);
        await tx.execute(sql`SELECT set_config('statement_timeout', ${`${left}ms`}, true)`);
        return tx.execute(query);
      };
      return readState(run, options);
    },
    { isolationLevel: "repeatable read", accessMode: "read only" },
  );
}

// rowsOf reads what the drivers answer; the shared type cannot name it.
type Run = (query: SQL) => Promise<unknown>;

async function readState(run: Run, options: MetricsStateOptions): Promise<MetricsState> {
  const day = new Date(options.now).toISOString().slice(0, 10);
  // One scan of today's rows (usage_daily_day_idx), materialized once for every use below:
  // a CTE referenced more than once is. The model is cut as the other runtimes' model label
  // is, before grouping, so that models sharing the kept prefix are one series, summed.
  const usageRows = rowsOf<Record<string, unknown>>(
    await run(sql`
      WITH today AS (
        SELECT tenant_id, route, left(model, ${MODEL_LABEL_LENGTH}::int) AS model,
               requests, units, input_tokens, output_tokens, cached_input_tokens
        FROM usage_daily WHERE day = ${day}::date
      ),
      top_tenants AS (
        SELECT tenant_id FROM today GROUP BY tenant_id ORDER BY sum(units) DESC, tenant_id LIMIT ${options.topTenants}
      ),
      top_models AS (
        SELECT model FROM today GROUP BY model ORDER BY sum(units) DESC, model LIMIT ${options.topModels}
      ),
      labelled AS (
        SELECT CASE WHEN tenant_id IN (SELECT tenant_id FROM top_tenants) THEN tenant_id ELSE ${OTHER} END AS tenant,
               route,
               CASE WHEN model IN (SELECT model FROM top_models) THEN model ELSE ${OTHER} END AS label_model,
               ${SUMS}
        FROM today GROUP BY 1, 2, 3
      )
      -- The tenant count rides on every row, and on one row of nulls when today has none.
      SELECT (SELECT count(DISTINCT tenant_id) FROM today)::int AS tenants, labelled.*
      FROM (SELECT 1) AS one LEFT JOIN labelled ON true
      ORDER BY tenant, route, label_model`),
  );
  const [late] = rowsOf<Record<string, unknown>>(await run(sql`SELECT ${SUMS} FROM usage_late`));
  const deliveryRows = rowsOf<{ status: string; n: number; oldest: number | null }>(
    await run(sql`
      SELECT status, count(*)::int AS n,
             (extract(epoch FROM min(created_at)) * 1000)::float8 AS oldest
      FROM webhook_deliveries GROUP BY status`),
  );
  const [billing] = rowsOf<{ ms: number }>(
    await run(
      sql`SELECT (extract(epoch FROM billed_through::timestamp) * 1000)::float8 AS ms FROM billing_state WHERE id = 1`,
    ),
  );
  // Invoiced only: a voided invoice is no longer owed, and a draft is not issued yet.
  const invoiceRows = rowsOf<{
    currency: string;
    n: number;
    amount: number;
    period_end_ms: number;
    created_ms: number;
  }>(
    await run(sql`
      WITH last AS (SELECT max(period_end) AS period_end, max(created_at) AS created_at FROM invoices WHERE status IN ${INVOICED})
      SELECT i.currency, count(*)::int AS n, sum(i.amount_minor)::float8 AS amount,
             (extract(epoch FROM last.period_end::timestamp) * 1000)::float8 AS period_end_ms,
             (extract(epoch FROM last.created_at) * 1000)::float8 AS created_ms
      FROM invoices i, last WHERE i.period_end = last.period_end AND i.status IN ${INVOICED}
      GROUP BY i.currency, last.period_end, last.created_at`),
  );
  const pending = deliveryRows.find((r) => r.status === "pending");
  const firstInvoice = invoiceRows[0];
  return {
    day,
    usageToday: usageRows
      .filter((r) => r.tenant != null)
      .map((r) => ({
        tenant: String(r.tenant),
        route: String(r.route),
        model: String(r.label_model),
        ...dimensions(r),
      })),
    tenantsToday: Number(usageRows[0]?.tenants ?? 0),
    late: dimensions(late),
    deliveries: Object.fromEntries(deliveryRows.map((r) => [r.status, Number(r.n)])),
    oldestPendingDeliveryMs: pending?.oldest == null ? null : Number(pending.oldest),
    billedThroughMs: billing ? Number(billing.ms) : null,
    lastInvoice: firstInvoice
      ? {
          createdMs: Number(firstInvoice.created_ms),
          periodEndMs: Number(firstInvoice.period_end_ms),
          invoices: invoiceRows.reduce((n, r) => n + Number(r.n), 0),
          amountMinor: Object.fromEntries(invoiceRows.map((r) => [r.currency, Number(r.amount)])),
        }
      : null,
  };
}
