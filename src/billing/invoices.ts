// Invoices after the run: listing them, and their lifecycle issued -> paid | void.

import { and, eq } from "drizzle-orm";
import type { Database } from "../db/database";
import { newestFirst, type Position, pageOf } from "../db/keyset";
import { invoices } from "../db/schema";
import { type InvoiceStatus, type InvoiceView, invoiceEvent, invoiceView } from "./invoice-view";
import { enqueueWebhooks } from "./webhooks/outbox";

export interface Page<T> {
  items: T[];
  next: Position | null;
}

/** Newest first, filtered by status and tenant. */
export async function listInvoices(
  db: Database,
  filter: { status?: InvoiceStatus; tenantId?: string; limit: number; after?: Position },
): Promise<Page<InvoiceView>> {
  const order = newestFirst(invoices.createdAt, invoices.id, filter.after);
  const rows = await db
    .select()
    .from(invoices)
    .where(
      and(
        filter.status ? eq(invoices.status, filter.status) : undefined,
        filter.tenantId ? eq(invoices.tenantId, filter.tenantId) : undefined,
        order.where,
      ),
    )
    .orderBy(...order.orderBy)
    .limit(filter.limit + 1);
  return pageOf(rows, filter.limit, invoiceView);
}

export async function getInvoice(db: Database, id: string): Promise<InvoiceView | null> {
  const [row] = await db.select().from(invoices).where(eq(invoices.id, id));
  return row ? invoiceView(row) : null;
}

export type Transition =
  | { result: "changed" | "unchanged"; invoice: InvoiceView; deliveries: string[] }
  | { result: "conflict"; invoice: InvoiceView }
  | { result: "missing" };

/**
 * Moves an issued invoice to paid or void, with its webhook in the same transaction.
 * Repeating the move is harmless; the other move from there is a conflict (a void
 * invoice cannot be paid, a paid one cannot be voided).
 */
export async function transitionInvoice(
  db: Database,
  id: string,
  to: "paid" | "void",
  now = new Date(),
): Promise<Transition> {
  return db.transaction(async (tx) => {
    const [row] = await tx.select().from(invoices).where(eq(invoices.id, id)).for("update");
    if (!row) return { result: "missing" };
    if (row.status === to) return { result: "unchanged", invoice: invoiceView(row), deliveries: [] };
    if (row.status !== "issued") return { result: "conflict", invoice: invoiceView(row) };
    const [updated] = await tx
      .update(invoices)
      .set(to === "paid" ? { status: "paid", paidAt: now } : { status: "void", voidedAt: now })
      .where(eq(invoices.id, id))
      .returning();
    if (!updated) throw new Error(`invoice ${id} vanished inside its own transaction`);
    const view = invoiceView(updated);
    const deliveries = await enqueueWebhooks(
      tx,
      [invoiceEvent(to === "paid" ? "invoice.paid" : "invoice.voided", view, now)],
      now,
    );
    return { result: "changed", invoice: view, deliveries };
  });
}
