// Benchmark: an invoice run for 10,000 tenants with 30 days of rollups, timed with 10
// million raw usage rows present and with 100x fewer, in the same run.
//
//   npm run bench:invoice      (BENCH_TENANTS, BENCH_RAW_ROWS, BENCH_ROUNDS tune it)
//
// The run reads the daily rollup, never raw events, so its time should not move with the
// number of raw rows. Runs against TEST_POSTGRES_URL (default 127.0.0.1:5432) in a database
// of its own, created and dropped here. Between rounds the run's effects are undone
// (invoices, deliveries and the billed-through watermark), so every round bills the same
// month afresh.

import { runInvoicing } from "../../src/billing/invoice-run";
import { parsePrice } from "../../src/core/money";
import { openNodeDatabase } from "../../src/db/node";
import { createScratchDatabase } from "../lib/scratch-database";
import { median } from "./stats";

const TENANTS = Number(process.env.BENCH_TENANTS ?? 10_000);
const RAW_ROWS = Number(process.env.BENCH_RAW_ROWS ?? 10_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const ROUTES = ["default", "chat", "embed"];
const PERIOD = { start: "2031-01-01", end: "2031-02-01" };
const settings = { kind: "month" as const, unitPrice: parsePrice("0.000002"), currency: "USD", zeroInvoices: false };

async function timed<T>(label: string, work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await work();
  const seconds = (performance.now() - started) / 1000;
  console.log(`${label}: ${seconds.toFixed(2)} s`);
  return [result, seconds];
}

const scratch = await createScratchDatabase("aegis_bench_invoice");
const url = new URL(scratch.url);
const handle = openNodeDatabase(url.toString(), 2);
const q = (text: string) => handle.pool.query(text);

/** Raw usage rows up to `total`, spread over the tenants and the month. */
async function rawRowsUpTo(total: number): Promise<void> {
  const { rows } = await handle.pool.query<{ n: string }>("SELECT count(*) AS n FROM usage_records");
  const have = Number(rows[0]?.n);
  if (have >= total) return;
  await q(`
    INSERT INTO usage_records (event_id, tenant_id, route, units, occurred_at)
    SELECT 'ev_' || g, 'tn' || lpad((g % ${TENANTS})::text, 16, '0'), (ARRAY['default','chat','embed'])[1 + g % 3],
           1 + g % 500, timestamptz '2031-01-01' + (g % 2678400) * interval '1 second'
    FROM generate_series(${have + 1}, ${total}) g`);
  await q("ANALYZE usage_records");
}

async function invoiceRounds(label: string): Promise<number[]> {
  const times: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    await q("DELETE FROM invoices; DELETE FROM webhook_deliveries; DELETE FROM billing_state; DELETE FROM usage_late");
    await q("VACUUM ANALYZE");
    const [run, seconds] = await timed(`${label}, round ${round}`, () => runInvoicing(handle.db, PERIOD, settings));
    if (run.created.length !== TENANTS) throw new Error(`expected ${TENANTS} invoices, got ${run.created.length}`);
    times.push(seconds);
  }
  return times;
}

try {
  console.log(`Postgres ${url.host}: ${TENANTS} tenants x ${ROUTES.length} routes x 31 days of rollups`);
  await timed("rollups", () =>
    q(`
      INSERT INTO usage_daily (tenant_id, day, route, units, requests)
      SELECT 'tn' || lpad(t::text, 16, '0'), date '2031-01-01' + d, r, 1000 + (t * 7 + d * 13) % 100000, 10 + (t + d) % 50
      FROM generate_series(0, ${TENANTS - 1}) t, generate_series(0, 30) d, unnest(ARRAY['default','chat','embed']) r`),
  );
  const few = Math.max(1, Math.floor(RAW_ROWS / 100));
  await timed(`raw rows: ${few}`, () => rawRowsUpTo(few));
  const fewTimes = await invoiceRounds(`invoice run with ${few} raw rows`);
  await timed(`raw rows: ${RAW_ROWS}`, () => rawRowsUpTo(RAW_ROWS));
  const manyTimes = await invoiceRounds(`invoice run with ${RAW_ROWS} raw rows`);

  const a = median(fewTimes);
  const b = median(manyTimes);
  console.log(`\nmedians of ${ROUNDS} rounds, ${TENANTS} invoices each:`);
  console.log("| raw usage rows | invoice run (s) |");
  console.log("|---:|---:|");
  console.log(`| ${few.toLocaleString("en")} | ${a.toFixed(2)} |`);
  console.log(`| ${RAW_ROWS.toLocaleString("en")} | ${b.toFixed(2)} |`);
  console.log(`\nratio (100x the raw rows / 1x): ${(b / a).toFixed(2)}`);
  console.log(`target (under 10 s with ${RAW_ROWS.toLocaleString("en")} raw rows): ${b < 10 ? "met" : "NOT met"}`);
} finally {
  await handle.close();
  await scratch.drop();
}
