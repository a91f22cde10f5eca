// The console's one table component: every list the console shows is this markup, so a row's
// identifying data-* attribute, the table's id and the column order stay where tests find them.

import type { Child } from "hono/jsx";

/** One column: its header, and how a row fills its cell. */
export interface Column<Row> {
  /** The header cell's text; leave it out for a column of buttons. */
  header?: string;
  /** The cell's class ("num" right-aligns figures); no class attribute without it. */
  class?: string;
  cell: (row: Row) => Child;
}

export interface TableProps<Row> {
  id: string;
  /** What the table lists, for screen readers ("Tenants"); its id when left out. */
  label?: string;
  columns: readonly Column<Row>[];
  rows: readonly Row[];
  /** Attributes of the row's `<tr>`, in order: the data-* attribute it is found by, a class. */
  rowAttributes: (row: Row) => Record<string, string>;
}

/**
 * A `<table>` with a header row and one row per item, in a wrapper that scrolls sideways on a
 * narrow screen (so the page itself never does). The wrapper is focusable and labelled, so a
 * keyboard can scroll it too.
 *
 * @example
 * <Table
 *   id="keys"
 *   rows={keys}
 *   rowAttributes={(k) => ({ "data-key": k.id })}
 *   columns={[{ header: "Name", cell: (k) => k.name ?? "" }]}
 * />
 */
export function Table<Row>(props: TableProps<Row>) {
  return (
    <section class="table-wrap" aria-label={props.label ?? props.id} tabindex={0}>
      <table id={props.id}>
        <thead>
          <tr>
            {props.columns.map((column) => (
              <th scope="col" class={column.class?.split(" ").includes("num") ? "num" : undefined}>
                {column.header ?? <span class="sr-only">Actions</span>}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((row) => (
            <tr {...props.rowAttributes(row)}>
              {props.columns.map((column) => (
                <td class={column.class}>{column.cell(row)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
