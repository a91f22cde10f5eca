// What the console's fleet page reads from Postgres: today's top tenants by tokens from the
// daily rollup, the admitted calls of the last hour from the usage records (by
// usage_records_occurred_idx), and the pipeline's state. Every instant is the gateway's
// clock passed in, never Postgres's now(): the two need not agree.

import { sql } from "drizzle-orm";
import { MINUTE_MS } from "../../core/call-rates";
import { type Database, rowsOf } from "../../db/database";

/** How many tenants the page lists. */
export const TOP_TENANTS = 20;

export interface TenantTokens {
  tenantId: string;
  /** null: a tenant deleted since (usage keeps no foreign key). */
  name: string | null;
  requests: number;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  units: number;
}

/** The tenants with the most tokens (input and output) on `day`, then the most units. */
export async function topTenants(db: Database, day: string, limit = TOP_TENANTS): Promise<TenantTokens[]> {
  const rows = rowsOf<Record<keyof TenantTokens, string | number | null>>(
    await db.execute(sql`
      SELECT u.tenant_id AS "tenantId", t.name, sum(u.requests) AS requests, sum(u.input_tokens) AS "inputTokens",
             sum(u.cached_input_tokens) AS "cachedInputTokens", sum(u.output_tokens) AS "outputTokens",
             sum(u.units) AS units
      FROM usage_daily u LEFT JOIN tenants t ON t.id = u.tenant_id
      WHERE u.day = ${day}::date
      GROUP BY u.tenant_id, t.name
      ORDER BY sum(u.input_tokens) + sum(u.output_tokens) DESC, sum(u.units) DESC, u.tenant_id
      LIMIT ${limit}`),
  );
  return rows.map((r) => ({
    tenantId: String(r.tenantId),
    name: r.name === null ? null : String(r.name),
    requests: Number(r.requests),
    inputTokens: Number(r.inputTokens),
    cachedInputTokens: Number(r.cachedInputTokens),
    outputTokens: Number(r.outputTokens),
    units: Number(r.units),
  }));
}

/** Stored usage records (admitted, metered calls) per minute, keyed by the minute's start, from `from` to before `to`. */
export async function storedCallsPerMinute(db: Database, from: number, to: number): Promise<Map<number, number>> {
  const rows = rowsOf<{ minute: string | number; calls: string | number }>(
    await db.execute(sql`
      SELECT floor(extract(epoch FROM occurred_at) * 1000 / ${MINUTE_MS})::float8 * ${MINUTE_MS} AS minute,
             count(*) AS calls
      FROM usage_records
      WHERE occurred_at >= ${new Date(from).toISOString()}::timestamptz AND occurred_at < ${new Date(to).toISOString()}::timestamptz
      GROUP BY 1`),
  );
  return new Map(rows.map((r) => [Number(r.minute), Number(r.calls)]));
}

export type DeliveryStatus = "pending" | "delivered" | "failed" | "disabled";

export interface PipelineHealth {
  /** The stored usage record of the latest call, and when the ingest stored it (epoch ms); null: none stored. */
  newestUsage: { occurredAt: number; receivedAt: number } | null;
  /** Usage for days already invoiced, waiting for the next invoice's adjustment lines. */
  late: { tenants: number; units: number; firstDay: string | null };
  deliveries: Record<DeliveryStatus, number>;
  /** When the oldest delivery still pending was written (epoch ms). */
  oldestPending: number | null;
  /** Every day before it is invoiced; null: no invoice run has committed. */
  billedThrough: string | null;
  /** When the newest invoice was written (epoch ms), by any run. */
  lastInvoiceAt: number | null;
}

const ms = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const epochMs = (column: string) => sql.raw(`(extract(epoch FROM ${column}) * 1000)::float8`);

export async function pipelineHealth(db: Database): Promise<PipelineHealth> {
  const [newest] = rowsOf<{ occurred: number; received: number }>(
    await db.execute(sql`
      SELECT ${epochMs("occurred_at")} AS occurred, ${epochMs("received_at")} AS received
      FROM usage_records ORDER BY occurred_at DESC LIMIT 1`),
  );
  const [late] = rowsOf<{ tenants: string | number; units: string | number | null; first_day: string | null }>(
    await db.execute(sql`
      SELECT count(DISTINCT tenant_id) AS tenants, sum(units) AS units, min(day)::text AS first_day FROM usage_late`),
  );
  const statuses = rowsOf<{ status: DeliveryStatus; n: string | number; oldest: number | null }>(
    await db.execute(sql`
      SELECT status, count(*) AS n, min(${epochMs("created_at")}) AS oldest FROM webhook_deliveries GROUP BY status`),
  );
  const [state] = rowsOf<{ billed_through: string | null; last_invoice: number | null }>(
    await db.execute(sql`
      SELECT (SELECT billed_through::text FROM billing_state WHERE id = 1) AS billed_through,
             (SELECT max(${epochMs("created_at")}) FROM invoices) AS last_invoice`),
  );
  const deliveries: Record<DeliveryStatus, number> = { pending: 0, delivered: 0, failed: 0, disabled: 0 };
  for (const s of statuses) deliveries[s.status] = Number(s.n);
  return {
    newestUsage: newest ? { occurredAt: Number(newest.occurred), receivedAt: Number(newest.received) } : null,
    late: { tenants: Number(late?.tenants ?? 0), units: Number(late?.units ?? 0), firstDay: late?.first_day ?? null },
    deliveries,
    oldestPending: ms(statuses.find((s) => s.status === "pending")?.oldest),
    billedThrough: state?.billed_through ?? null,
    lastInvoiceAt: ms(state?.last_invoice),
  };
}
