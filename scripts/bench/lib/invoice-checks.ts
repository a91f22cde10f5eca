// Checks that an invoice run of the bench billed what it should, not only that it made
// invoices: a fast run that prices wrongly must fail the bench.

import type pg from "pg";
import type { InvoiceLine } from "../../../src/db/schema";
import { type ExpectedInvoice, lineKey, pico } from "./invoice-expected";
import { PERIOD } from "./invoice-fixture";

export interface RunFigures {
  invoices: number;
  lines: number;
  deliveries: number;
}

type InvoiceSums = { tenant_id: string; amount_minor: string; units: string; lines: number; lines_minor: string };

function fail(what: string, problems: string[]): never {
  const shown = problems.slice(0, 5).join("\n  ");
  throw new Error(`${what}: ${problems.length} wrong, first:\n  ${shown}`);
}

/**
 * Every invoice against its expectation (total, units, number of lines; its total the sum of
 * its lines), and the lines of `samples` one by one.
 */
export async function checkInvoices(
  pool: pg.Pool,
  expected: Map<string, ExpectedInvoice>,
  samples: string[],
): Promise<RunFigures> {
  const { rows } = await pool.query<InvoiceSums>(
    `SELECT tenant_id, amount_minor::text, units::text, jsonb_array_length(line_items) AS lines,
            (SELECT coalesce(sum((l->>'amountMinor')::bigint), 0) FROM jsonb_array_elements(line_items) l)::text AS lines_minor
     FROM invoices WHERE period_start = $1::date AND period_end = $2::date`,
    [PERIOD.start, PERIOD.end],
  );
  const problems: string[] = [];
  for (const r of rows) {
    const want = expected.get(r.tenant_id);
    if (!want) {
      problems.push(`${r.tenant_id}: an invoice nobody expected`);
      continue;
    }
    if (r.amount_minor !== r.lines_minor)
      problems.push(`${r.tenant_id}: total ${r.amount_minor}, lines ${r.lines_minor}`);
    if (BigInt(r.amount_minor) !== want.amountMinor) {
      problems.push(`${r.tenant_id}: total ${r.amount_minor}, expected ${want.amountMinor}`);
    }
    if (r.lines !== want.lines.size) problems.push(`${r.tenant_id}: ${r.lines} lines, expected ${want.lines.size}`);
    if (BigInt(r.units) !== want.units) problems.push(`${r.tenant_id}: ${r.units} units, expected ${want.units}`);
  }
  if (rows.length !== expected.size) problems.push(`${rows.length} invoices, expected ${expected.size}`);
  if (problems.length > 0) fail("invoices", problems);

  for (const tenant of samples) await checkLines(pool, tenant, expected.get(tenant));

  const { rows: counts } = await pool.query<{ lines: string; deliveries: string }>(
    `SELECT (SELECT sum(jsonb_array_length(line_items)) FROM invoices)::text AS lines,
            (SELECT count(*) FROM webhook_deliveries)::text AS deliveries`,
  );
  return { invoices: rows.length, lines: Number(counts[0]?.lines), deliveries: Number(counts[0]?.deliveries) };
}

/** One invoice's lines, each against the expected line of its model, dimension, tier and price. */
async function checkLines(pool: pg.Pool, tenant: string, want: ExpectedInvoice | undefined): Promise<void> {
  if (!want) throw new Error(`no expectation for sample tenant ${tenant}`);
  const { rows } = await pool.query<{ line_items: InvoiceLine[] }>(
    "SELECT line_items FROM invoices WHERE tenant_id = $1 AND period_start = $2::date",
    [tenant, PERIOD.start],
  );
  const lines = rows[0]?.line_items ?? [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const l of lines) {
    const key = lineKey(l.model ?? "", l.dimension, l.tier, pico(l.unitPrice));
    const w = want.lines.get(key);
    seen.add(key);
    if (!w) problems.push(`unexpected line ${JSON.stringify(l)}`);
    else if (BigInt(l.quantity) !== w.quantity || BigInt(l.amountMinor) !== w.amountMinor) {
      problems.push(`${key}: ${l.quantity} for ${l.amountMinor}, expected ${w.quantity} for ${w.amountMinor}`);
    }
    if (l.periodStart !== PERIOD.start || l.periodEnd !== PERIOD.end || l.adjustment) {
      problems.push(`${key}: not a line of ${PERIOD.start}: ${JSON.stringify(l)}`);
    }
  }
  for (const key of want.lines.keys()) if (!seen.has(key)) problems.push(`missing line ${key}`);
  if (problems.length > 0) fail(`lines of ${tenant}`, problems);
}
