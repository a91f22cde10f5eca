// The Postgres half of bench:storage: the bytes of a usage_records row and of a usage_daily
// rollup row, after the real ingest statement (ingestUsage) stored a fixed set of metered calls.

import type pg from "pg";
import { newTenantId } from "../../../src/core/secrets";
import { newEventId, type UsageEvent } from "../../../src/core/usage-event";
import type { Database } from "../../../src/db/database";
import { ingestUsage } from "../../../src/metering/ingest";

export const EVENTS = 100_000;
export const PG_TENANTS = 100;
export const DAYS = 10;
/** Events per ingest statement, as in bench:ingest's headline row. */
const BATCH = 1_000;

/** Route and model pairs: each tenant calls each of them every day, so 4 rollup rows a tenant-day. */
const CALL_KINDS = [
  { route: "chat", model: "gpt-4o-mini" },
  { route: "chat", model: "claude-sonnet-4-5" },
  { route: "chat", model: "llama-3.3-70b-instruct" },
  { route: "embed", model: "text-embedding-3-small" },
];

/**
 * EVENTS metered calls in time order, a day after another (as a consumer ingests them): within
 * a day, 100 tenants in turn, each kind of call in runs of 100. Ids and request ids are random;
 * every count, length and token figure is fixed.
 */
function makeEvents(): UsageEvent[] {
  const tenants = Array.from({ length: PG_TENANTS }, () => newTenantId());
  const perDay = EVENTS / DAYS;
  const start = Date.UTC(2026, 10, 1);
  return Array.from({ length: EVENTS }, (_, i) => {
    const kind = CALL_KINDS[Math.floor(i / PG_TENANTS) % CALL_KINDS.length] as (typeof CALL_KINDS)[number];
    const inputTokens = 200 + ((i * 37) % 1_800);
    const outputTokens = kind.route === "embed" ? 0 : 20 + ((i * 53) % 700);
    const day = Math.floor(i / perDay);
    return {
      eventId: newEventId(),
      tenantId: tenants[i % PG_TENANTS] as string,
      route: kind.route,
      units: inputTokens + outputTokens,
      occurredAt: start + day * 86_400_000 + Math.floor(((i % perDay) * 86_400_000) / perDay),
      // What the gateway's settle leaves on a metered call's event.
      metadata: { model: kind.model, requestId: crypto.randomUUID() },
      model: kind.model,
      requests: 1,
      inputTokens,
      outputTokens,
      cachedInputTokens: i % 5 === 0 ? Math.floor(inputTokens / 2) : 0,
    };
  });
}

export interface TableFigures {
  table: string;
  rows: number;
  /** pg_total_relation_size: heap, TOAST, free space and visibility maps, indexes. */
  total: number;
  /** pg_table_size: all of that but the indexes. */
  heap: number;
  indexes: number;
  /** Each index's size, by name. */
  byIndex: [string, number][];
}

export interface PostgresFigures {
  version: string;
  tables: TableFigures[];
  /** The same after VACUUM FULL: the rows packed, with none of the space the rollup's updates left. */
  packed: TableFigures[];
}

async function sizesOf(pool: pg.Pool, table: string): Promise<TableFigures> {
  const { rows } = await pool.query<{ rows: string; total: string; heap: string; indexes: string }>(
    `SELECT (SELECT count(*) FROM ${table}) AS rows, pg_total_relation_size($1) AS total,
            pg_table_size($1) AS heap, pg_indexes_size($1) AS indexes`,
    [table],
  );
  const r = rows[0];
  if (!r) throw new Error(`no sizes for ${table}`);
  const idx = await pool.query<{ name: string; size: string }>(
    `SELECT indexrelid::regclass::text AS name, pg_relation_size(indexrelid) AS size
     FROM pg_index WHERE indrelid = $1::regclass ORDER BY 1`,
    [table],
  );
  return {
    table,
    rows: Number(r.rows),
    total: Number(r.total),
    heap: Number(r.heap),
    indexes: Number(r.indexes),
    byIndex: idx.rows.map((x) => [x.name, Number(x.size)]),
  };
}

export async function measurePostgres(db: Database, pool: pg.Pool, signal: AbortSignal): Promise<PostgresFigures> {
  const version =
    (await pool.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v ?? "unknown";
  const events = makeEvents();
  let inserted = 0;
  for (let i = 0; i < events.length; i += BATCH) {
    if (signal.aborted) throw new Error("interrupted");
    inserted += (await ingestUsage(db, events.slice(i, i + BATCH))).inserted;
  }
  if (inserted !== EVENTS) throw new Error(`ingested ${inserted} of ${EVENTS} events`);
  const tables = ["usage_records", "usage_daily"];
  const expectedDaily = PG_TENANTS * DAYS * CALL_KINDS.length;
  await pool.query(`VACUUM ANALYZE ${tables.join(", ")}`);
  const after = await Promise.all(tables.map((t) => sizesOf(pool, t)));
  if (after[1]?.rows !== expectedDaily)
    throw new Error(`expected ${expectedDaily} rollup rows, found ${after[1]?.rows}`);
  await pool.query(`VACUUM FULL ANALYZE ${tables.join(", ")}`);
  const packed = await Promise.all(tables.map((t) => sizesOf(pool, t)));
  return { version, tables: after, packed };
}
