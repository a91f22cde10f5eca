// An invoice's lines on the invoices page, folded under a summary. Invoices issued since the
// price book have v2 lines (model, dimension, tier, quantity); those issued before keep the
// v1 lines they were issued with (route, units, requests). Both are shown as they were stored.

import type { InvoiceLine, InvoiceLineV1 } from "../../db/schema";
import { Count, Decimal, Money, When } from "./format";
import { Table } from "./table";

/** A stored count as a count; anything else stored there is shown as it is. */
const Quantity = (props: { n: unknown }) =>
  typeof props.n === "number" && Number.isSafeInteger(props.n) ? <Count n={props.n} /> : <span>{String(props.n)}</span>;

const Period = (props: { start: string; end: string }) => (
  <>
    <When iso={props.start} />
    {" to "}
    <When iso={props.end} />
  </>
);

const isV2 = (line: InvoiceLine | InvoiceLineV1): line is InvoiceLine => "dimension" in line;

type Numbered<L> = { line: L; n: number };

function V2Lines(props: { id: string; lines: Numbered<InvoiceLine>[]; currency: string }) {
  return (
    <Table
      id={`lines-${props.id}`}
      rows={props.lines}
      rowAttributes={({ line, n }) => ({ "data-line": String(n), class: line.adjustment ? "adjustment" : "usage" })}
      columns={[
        { header: "Model", cell: ({ line }) => (line.model === null ? "(no model)" : <code>{line.model}</code>) },
        { header: "Dimension", cell: ({ line }) => line.dimension },
        // Tiers are numbered from 1 here, as in the price form; the API's `tier` counts from 0.
        { header: "Tier", cell: ({ line }) => (typeof line.tier === "number" ? String(line.tier + 1) : "") },
        { header: "Quantity", class: "num", cell: ({ line }) => <Quantity n={line.quantity} /> },
        { header: "Unit price", class: "num", cell: ({ line }) => <Decimal value={line.unitPrice} /> },
        {
          header: "Amount",
          class: "num",
          cell: ({ line }) => <Money minor={line.amountMinor} currency={props.currency} />,
        },
        {
          header: "Period",
          cell: ({ line }) => (
            <>
              <Period start={line.periodStart} end={line.periodEnd} />
              {line.adjustment ? (
                <span class="badge adjustment" title="late usage of an earlier period">
                  adjustment
                </span>
              ) : null}
            </>
          ),
        },
      ]}
    />
  );
}

function V1Lines(props: { id: string; lines: Numbered<InvoiceLineV1>[]; currency: string }) {
  return (
    <Table
      id={`lines-v1-${props.id}`}
      rows={props.lines}
      rowAttributes={({ line, n }) => ({ "data-line": String(n), class: line.kind })}
      columns={[
        { header: "Route", cell: ({ line }) => line.route },
        { header: "Units", class: "num", cell: ({ line }) => <Quantity n={line.units} /> },
        { header: "Requests", class: "num", cell: ({ line }) => <Quantity n={line.requests} /> },
        { header: "Unit price", class: "num", cell: ({ line }) => <Decimal value={line.unitPrice} /> },
        {
          header: "Amount",
          class: "num",
          cell: ({ line }) => <Money minor={line.amountMinor} currency={props.currency} />,
        },
        {
          header: "Period",
          cell: ({ line }) => (
            <>
              <Period start={line.periodStart} end={line.periodEnd} />
              {line.kind === "adjustment" ? <span class="badge adjustment">adjustment</span> : null}
            </>
          ),
        },
      ]}
    />
  );
}

export function InvoiceLines(props: { id: string; lines: InvoiceLine[] | InvoiceLineV1[]; currency: string }) {
  // Stored JSON, shown whatever it holds: anything but a list of objects is no lines.
  const stored: unknown[] = Array.isArray(props.lines) ? props.lines : [];
  const lines = stored.filter((l): l is InvoiceLine | InvoiceLineV1 => typeof l === "object" && l !== null);
  if (lines.length === 0) return <span class="hint">no lines</span>;
  const numbered = lines.map((line, n) => ({ line, n }));
  const v2 = numbered.filter((l): l is Numbered<InvoiceLine> => isV2(l.line));
  // An invoice holds lines of one version; a v1 line is anything without a dimension.
  const v1 = numbered.filter((l): l is Numbered<InvoiceLineV1> => !isV2(l.line));
  return (
    <details>
      <summary>{`${lines.length} ${lines.length === 1 ? "line" : "lines"}`}</summary>
      {v2.length > 0 ? <V2Lines id={props.id} lines={v2} currency={props.currency} /> : null}
      {v1.length > 0 ? <V1Lines id={props.id} lines={v1} currency={props.currency} /> : null}
    </details>
  );
}
