// Benchmark: an invoice run for 10,000 tenants with a month of AI usage (5 models, input,
// output and cached input tokens) priced with a price book, timed with 10 million raw usage
// rows present and with 100x fewer, in the same run.
//
//   npm run bench:invoice      (BENCH_TENANTS, BENCH_RAW_ROWS, BENCH_ROUNDS tune it)
//
// The run reads the daily rollup, never raw events, so its time should not move with the
// number of raw rows. The book (scripts/bench/lib/invoice-fixture.ts) has prefixes and exact
// names, graduated output tiers, tenants' own prices and a price change mid-month, so the
// run prices two runs of days per tenant and model. Every round's invoices are checked
// against totals worked out apart from the code under test (lib/invoice-expected.ts).
//
// Runs against TEST_POSTGRES_URL (default 127.0.0.1:5432) in a database of its own, created
// and dropped here. Between rounds the run's effects are undone (invoices, deliveries and the
// billed-through watermark), so every round bills the same month afresh.

import { runInvoicing } from "../../src/billing/invoice-run";
import { formatMinor, parsePrice } from "../../src/core/money";
import { openNodeDatabase } from "../../src/db/node";
import { createScratchDatabase } from "../lib/scratch-database";
import { checkInvoices, type RunFigures } from "./lib/invoice-checks";
import { type ExpectedInvoice, expectedInvoices } from "./lib/invoice-expected";
import {
  DAYS,
  insertRollup,
  insertTenants,
  MODELS,
  OVERRIDE_EVERY,
  PERIOD,
  rawRowsUpTo,
  storePriceBook,
  tenantId,
} from "./lib/invoice-fixture";
import { median, positiveInt } from "./stats";

const TENANTS = positiveInt("BENCH_TENANTS", 10_000);
const RAW_ROWS = positiveInt("BENCH_RAW_ROWS", 10_000_000);
const ROUNDS = positiveInt("BENCH_ROUNDS", 3);
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

// Samples whose every line is checked: a tenant with its own prices that crosses the gpt-4o
// output tier after the price change, and the largest tenant, which crosses it before.
const samples = [70, 99].filter((t) => t < TENANTS).map(tenantId);
let figures: RunFigures | undefined;

async function invoiceRounds(label: string, expected: Map<string, ExpectedInvoice>): Promise<number[]> {
  const times: number[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    await q("DELETE FROM invoices; DELETE FROM webhook_deliveries; DELETE FROM billing_state; DELETE FROM usage_late");
    await q("VACUUM ANALYZE");
    const [run, seconds] = await timed(`${label}, round ${round}`, () => runInvoicing(handle.db, PERIOD, settings));
    if (run.created.length !== TENANTS) throw new Error(`expected ${TENANTS} invoices, got ${run.created.length}`);
    if (run.deliveries.length !== TENANTS)
      throw new Error(`expected ${TENANTS} deliveries, got ${run.deliveries.length}`);
    const checked = await checkInvoices(handle.pool, expected, samples);
    if (checked.deliveries !== TENANTS) throw new Error(`${checked.deliveries} deliveries stored, expected ${TENANTS}`);
    // Every round bills the same month the same way, so every round's figures are the same.
    if (figures && (figures.lines !== checked.lines || figures.invoices !== checked.invoices)) {
      throw new Error(`round ${round} made ${checked.lines} lines, an earlier one ${figures.lines}`);
    }
    figures = checked;
    times.push(seconds);
  }
  return times;
}

try {
  console.log(
    `Postgres ${url.host}: ${TENANTS} tenants x ${DAYS} days x ${MODELS.length} models, ` +
      `3 token dimensions; every ${OVERRIDE_EVERY}th tenant has its own prices`,
  );
  await timed("tenants", () => insertTenants(handle.pool, TENANTS));
  const [rollupRows] = await timed("rollups", () => insertRollup(handle.pool, TENANTS));
  const [priceRows] = await timed("price book", () =>
    storePriceBook(handle.db, handle.pool, TENANTS, settings.currency),
  );
  const [expected] = await timed("expected invoices", () => expectedInvoices(handle.pool, TENANTS));
  console.log(`usage_daily rows: ${rollupRows.toLocaleString("en")}; prices rows: ${priceRows.toLocaleString("en")}`);
  for (const t of samples) {
    const e = expected.get(t);
    if (e) console.log(`sample ${t}: ${e.lines.size} lines, ${formatMinor(e.amountMinor, settings.currency)} USD`);
  }

  const few = Math.max(1, Math.floor(RAW_ROWS / 100));
  await timed(`raw rows: ${few}`, () => rawRowsUpTo(handle.pool, TENANTS, few));
  const fewTimes = await invoiceRounds(`invoice run with ${few} raw rows`, expected);
  await timed(`raw rows: ${RAW_ROWS}`, () => rawRowsUpTo(handle.pool, TENANTS, RAW_ROWS));
  const manyTimes = await invoiceRounds(`invoice run with ${RAW_ROWS} raw rows`, expected);

  const a = median(fewTimes);
  const b = median(manyTimes);
  const lines = figures?.lines ?? 0;
  console.log(`\nmedians of ${ROUNDS} rounds, ${TENANTS.toLocaleString("en")} invoices each, all checked:`);
  console.log(`usage_daily rows: ${rollupRows.toLocaleString("en")}; invoice lines: ${lines.toLocaleString("en")}`);
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
