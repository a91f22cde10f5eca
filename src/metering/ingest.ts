// The ingest statement: a batch of usage events into usage_records and the usage_daily
// rollup (per tenant, UTC day, route and model, a column per dimension), in one SQL
// statement, idempotently; usage for days already invoiced also goes to usage_late, for the
// next invoice.

import { sql } from "drizzle-orm";
import type { UsageEvent } from "../core/usage-event";
import { type Database, rowsOf } from "../db/database";
import { BILLING_LOCK } from "../db/lock";

export interface IngestResult {
  /** Events that were new; the rest were already stored. */
  inserted: number;
  /** Units of the new events. */
  units: number;
}

/**
 * Inserts the events once each and adds only the newly inserted ones to the daily rollup.
 *
 * The batch travels as one jsonb parameter: the statement text is the same for every
 * batch size, Postgres plans it once, and a thousand events cost one round trip.
 * ON CONFLICT (event_id) DO NOTHING skips events seen before (redelivery, or a duplicate
 * inside the batch), and RETURNING feeds the rollup with exactly the rows inserted, so a
 * batch delivered twice leaves the totals unchanged. Days are UTC. Rows are written in a
 * fixed order, so concurrent consumers take their locks in the same order.
 *
 * It runs under a shared advisory lock that an invoice run takes exclusively: while a run
 * works, ingests wait, and an ingest's statement always sees the billed-through day of the
 * last run that committed. Usage for a day before it is late and also lands in usage_late.
 */
export async function ingestUsage(db: Database, events: readonly UsageEvent[]): Promise<IngestResult> {
  if (events.length === 0) return { inserted: 0, units: 0 };
  const rows = events.map((e) => ({
    event_id: e.eventId,
    tenant_id: e.tenantId,
    route: e.route,
    model: e.model ?? null,
    units: e.units,
    requests: e.requests ?? 1,
    input_tokens: e.inputTokens ?? 0,
    output_tokens: e.outputTokens ?? 0,
    cached_input_tokens: e.cachedInputTokens ?? 0,
    estimated: e.estimated ?? false,
    occurred_at: e.occurredAt,
    metadata: e.metadata ?? null,
  }));
  // READ COMMITTED, whatever the database's default: the statement after the lock must
  // take its snapshot after the lock is granted, to see the watermark a run just set.
  return db.transaction(
    async (tx) => {
      await tx.execute(sql`SELECT pg_advisory_xact_lock_shared(${BILLING_LOCK})`);
      const result = await tx.execute(sql`
      WITH input AS (
        SELECT * FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb)
          AS x(event_id text, tenant_id text, route text, model text, units bigint, requests bigint,
               input_tokens bigint, output_tokens bigint, cached_input_tokens bigint, estimated boolean,
               occurred_at bigint, metadata jsonb)
      ), inserted AS (
        INSERT INTO usage_records (event_id, tenant_id, route, model, units, requests, input_tokens, output_tokens,
                                   cached_input_tokens, estimated, occurred_at, metadata)
        SELECT event_id, tenant_id, route, model, units, requests, input_tokens, output_tokens, cached_input_tokens,
               estimated, to_timestamp(occurred_at / 1000.0), metadata FROM input
        ORDER BY event_id
        ON CONFLICT (event_id) DO NOTHING
        RETURNING tenant_id, route, model, units, requests, input_tokens, output_tokens, cached_input_tokens, estimated,
                  occurred_at
      ), grouped AS (
        SELECT tenant_id, (occurred_at AT TIME ZONE 'UTC')::date AS day, route, coalesce(model, '') AS model,
               sum(units) AS units, sum(requests) AS requests, sum(input_tokens) AS input_tokens,
               sum(output_tokens) AS output_tokens, sum(cached_input_tokens) AS cached_input_tokens,
               sum(CASE WHEN estimated THEN requests ELSE 0 END) AS estimated_requests,
               sum(CASE WHEN estimated THEN units ELSE 0 END) AS estimated_units
        FROM inserted GROUP BY 1, 2, 3, 4
      ), rollup AS (
        INSERT INTO usage_daily (tenant_id, day, route, model, units, requests, input_tokens, output_tokens, cached_input_tokens,
                                estimated_requests, estimated_units)
        SELECT tenant_id, day, route, model, units, requests, input_tokens, output_tokens, cached_input_tokens,
               estimated_requests, estimated_units
        FROM grouped ORDER BY 1, 2, 3, 4
        ON CONFLICT (tenant_id, day, route, model) DO UPDATE
          SET units = usage_daily.units + excluded.units, requests = usage_daily.requests + excluded.requests,
              input_tokens = usage_daily.input_tokens + excluded.input_tokens,
              output_tokens = usage_daily.output_tokens + excluded.output_tokens,
              cached_input_tokens = usage_daily.cached_input_tokens + excluded.cached_input_tokens,
              estimated_requests = usage_daily.estimated_requests + excluded.estimated_requests,
              estimated_units = usage_daily.estimated_units + excluded.estimated_units
      ), late AS (
        INSERT INTO usage_late (tenant_id, day, route, model, units, requests, input_tokens, output_tokens, cached_input_tokens,
                                estimated_requests, estimated_units)
        SELECT tenant_id, day, route, model, units, requests, input_tokens, output_tokens, cached_input_tokens,
               estimated_requests, estimated_units
        FROM grouped
        WHERE day < coalesce((SELECT billed_through FROM billing_state WHERE id = 1), date '1970-01-01')
        ORDER BY 1, 2, 3, 4
        ON CONFLICT (tenant_id, day, route, model) DO UPDATE
          SET units = usage_late.units + excluded.units, requests = usage_late.requests + excluded.requests,
              input_tokens = usage_late.input_tokens + excluded.input_tokens,
              output_tokens = usage_late.output_tokens + excluded.output_tokens,
              cached_input_tokens = usage_late.cached_input_tokens + excluded.cached_input_tokens,
              estimated_requests = usage_late.estimated_requests + excluded.estimated_requests,
              estimated_units = usage_late.estimated_units + excluded.estimated_units
      )
      SELECT count(*)::int AS inserted, coalesce(sum(units), 0)::text AS units FROM inserted
    `);
      const row = rowsOf<{ inserted: number; units: string }>(result)[0];
      return { inserted: row?.inserted ?? 0, units: Number(row?.units ?? 0) };
    },
    { isolationLevel: "read committed" },
  );
}
