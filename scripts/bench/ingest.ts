// Benchmark: usage events per second into Postgres through the queue consumer's insert
// path (ingestUsage: one statement per batch, ON CONFLICT on event ids, rollup of the new
// rows), for batches of 100 and 1,000, against one row per statement and against COPY.
//
//   npm run bench:ingest        (BENCH_EVENTS, BENCH_ROUNDS, BENCH_SINGLE_EVENTS tune it)
//
// Runs against the Postgres at TEST_POSTGRES_URL (default 127.0.0.1:5432, trust auth) in a
// database of its own, created and dropped here. Every method writes fresh events into
// emptied tables; rounds interleave the methods, and the summary gives medians.

import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type pg from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { newEventId, type UsageEvent } from "../../src/core/usage-event";
import { openNodeDatabase } from "../../src/db/node";
import { ingestUsage } from "../../src/metering/ingest";
import { createScratchDatabase } from "../lib/scratch-database";
import { median } from "./stats";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 100_000);
const SINGLE_EVENTS = Number(process.env.BENCH_SINGLE_EVENTS ?? 5_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/** Events spread over 200 tenants, 4 routes and 3 days, as a busy gateway produces them. */
function makeEvents(n: number): UsageEvent[] {
  const tenants = Array.from({ length: 200 }, (_, i) => `tn${i.toString(32).padStart(16, "a")}`);
  const routes = ["default", "chat", "embed", "batch"];
  const start = Date.UTC(2026, 10, 27);
  return Array.from({ length: n }, (_, i) => ({
    eventId: newEventId(),
    tenantId: tenants[i % tenants.length] as string,
    route: routes[i % routes.length] as string,
    units: 1 + (i % 500),
    occurredAt: start + ((i * 2_591) % (3 * 86_400_000)),
    metadata: { model: i % 2 ? "llama-3-70b" : "gpt-4o-mini" },
  }));
}

async function batched(
  db: ReturnType<typeof openNodeDatabase>["db"],
  events: UsageEvent[],
  size: number,
): Promise<void> {
  for (let i = 0; i < events.length; i += size) await ingestUsage(db, events.slice(i, i + size));
}

/** COPY of the same rows into usage_records: no conflict handling, no rollup, the physical limit. */
async function copy(pool: pg.Pool, events: UsageEvent[]): Promise<void> {
  const client = await pool.connect();
  try {
    const escapeCopy = (s: string) => s.replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n");
    const lines = events.map(
      (e) =>
        `${e.eventId}\t${e.tenantId}\t${e.route}\t${e.units}\t${new Date(e.occurredAt).toISOString()}\t${escapeCopy(JSON.stringify(e.metadata))}\n`,
    );
    const stream = client.query(
      copyFrom("COPY usage_records (event_id, tenant_id, route, units, occurred_at, metadata) FROM STDIN"),
    );
    await pipeline(Readable.from(lines), stream);
  } finally {
    client.release();
  }
}

const scratch = await createScratchDatabase("aegis_bench");
const url = new URL(scratch.url);
const handle = openNodeDatabase(url.toString(), 2);
try {
  const methods: Record<string, { events: number; run: (events: UsageEvent[]) => Promise<void> }> = {
    "ingestUsage, batches of 1,000": { events: EVENTS, run: (e) => batched(handle.db, e, 1_000) },
    "ingestUsage, batches of 100": { events: EVENTS, run: (e) => batched(handle.db, e, 100) },
    "one row per statement (batch of 1)": { events: SINGLE_EVENTS, run: (e) => batched(handle.db, e, 1) },
    "COPY into usage_records (no dedupe, no rollup)": { events: EVENTS, run: (e) => copy(handle.pool, e) },
  };
  const rates: Record<string, number[]> = Object.fromEntries(Object.keys(methods).map((k) => [k, []]));
  console.log(
    `Postgres ${url.host}; ${EVENTS} events per batched run, ${SINGLE_EVENTS} for one-row-at-a-time; ${ROUNDS} rounds`,
  );
  for (let round = 1; round <= ROUNDS; round++) {
    for (const [method, { events: n, run }] of Object.entries(methods)) {
      await handle.pool.query("TRUNCATE usage_records, usage_daily");
      const events = makeEvents(n);
      const started = performance.now();
      await run(events);
      const seconds = (performance.now() - started) / 1000;
      const { rows } = await handle.pool.query<{ n: string }>("SELECT count(*) AS n FROM usage_records");
      if (Number(rows[0]?.n) !== n) throw new Error(`${method}: stored ${rows[0]?.n} of ${n} events`);
      rates[method]?.push(n / seconds);
      console.log(`round ${round} ${method.padEnd(48)} ${(n / seconds).toFixed(0).padStart(8)} events/s`);
    }
  }
  const rate = (m: string) => median(rates[m] ?? []);
  const single = rate("one row per statement (batch of 1)");
  console.log(`\nmedians of ${ROUNDS} rounds:`);
  console.log("| method | events/s | vs one row per statement |");
  console.log("|---|---:|---:|");
  for (const m of Object.keys(methods))
    console.log(`| ${m} | ${rate(m).toFixed(0)} | ${(rate(m) / single).toFixed(1)}x |`);
  const best = rate("ingestUsage, batches of 1,000");
  console.log(
    `\ntarget (>= 50,000 events/s and >= 20x one row per statement): ${best >= 50_000 && best / single >= 20 ? "met" : "NOT met"} (${best.toFixed(0)} events/s, ${(best / single).toFixed(1)}x)`,
  );
} finally {
  await handle.close();
  await scratch.drop();
}
