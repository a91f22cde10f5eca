// A tenant's tokens per model and dimension over the page's range: one row per model, the
// same figures the usage API reports, summed over days and routes.

import type { UsageReport, UsageTotals } from "../../metering/usage-query";
import { ZERO_TOTALS } from "../../metering/usage-query";
import { Count } from "./format";
import { type Column, Table } from "./table";

type ModelRow = { model: string | null } & UsageTotals;

const count = (n: number) => <Count n={n} />;
const COLUMNS: readonly Column<ModelRow>[] = [
  { header: "model", cell: (r) => r.model ?? "(unknown)" },
  { header: "requests", class: "num", cell: (r) => count(r.requests) },
  { header: "input tokens", class: "num", cell: (r) => count(r.inputTokens) },
  { header: "cached input", class: "num", cell: (r) => count(r.cachedInputTokens) },
  { header: "output tokens", class: "num", cell: (r) => count(r.outputTokens) },
  { header: "units", class: "num", cell: (r) => count(r.units) },
  // The part of the units whose upstream reported nothing: the gateway's estimate.
  { header: "estimated units", class: "num", cell: (r) => count(r.estimatedUnits) },
];

/** The rows, most units first; models the upstream named none for are one "(unknown)" row. */
export function usageByModel(usage: UsageReport): ModelRow[] {
  const byModel = new Map<string | null, ModelRow>();
  for (const d of usage.days) {
    const row = byModel.get(d.model) ?? { model: d.model, ...ZERO_TOTALS };
    for (const k of Object.keys(ZERO_TOTALS) as (keyof UsageTotals)[]) row[k] += d[k];
    byModel.set(d.model, row);
  }
  return [...byModel.values()].sort((a, b) => b.units - a.units || String(a.model).localeCompare(String(b.model)));
}

export function ModelUsage(props: { usage: UsageReport }) {
  const rows = usageByModel(props.usage);
  if (rows.length === 0) return <p>No usage in this range.</p>;
  return (
    <Table
      id="models"
      label="Tokens per model"
      columns={COLUMNS}
      rows={rows}
      rowAttributes={(r) => ({ "data-model": r.model ?? "" })}
    />
  );
}
