// The webhook outbox: deliveries written in the transaction of the change they announce.

import { sql } from "drizzle-orm";
import { rowsOf, type Transaction } from "../../db/database";
import { newDeliveryId } from "../ids";
import type { WebhookEvent } from "../invoice-view";

/** Writes one pending delivery per event, due at `now`; returns their ids. */
export async function enqueueWebhooks(tx: Transaction, events: WebhookEvent[], now = new Date()): Promise<string[]> {
  if (events.length === 0) return [];
  const rows = events.map((e) => ({ id: newDeliveryId(), event_type: e.type, payload: e.payload }));
  await tx.execute(sql`
    INSERT INTO webhook_deliveries (id, event_type, payload, status, next_attempt_at)
    SELECT x.id, x.event_type, x.payload, 'pending', ${now.toISOString()}::timestamptz
    FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS x(id text, event_type text, payload jsonb)`);
  return rows.map((r) => r.id);
}

/**
 * Writes one invoice.created delivery per event, whose invoice's line items are taken from
 * the invoice row just inserted rather than sent a second time: at 10,000 invoices they are
 * tens of megabytes. Each event names its invoice; its payload's data.lineItems is replaced.
 */
export async function enqueueInvoiceEvents(
  tx: Transaction,
  events: (WebhookEvent & { invoiceId: string })[],
  now = new Date(),
): Promise<string[]> {
  if (events.length === 0) return [];
  const rows = events.map((e) => ({
    id: newDeliveryId(),
    event_type: e.type,
    payload: e.payload,
    invoice_id: e.invoiceId,
  }));
  const written = await tx.execute(sql`
    INSERT INTO webhook_deliveries (id, event_type, payload, status, next_attempt_at)
    SELECT x.id, x.event_type, jsonb_set(x.payload, '{data,lineItems}', i.line_items), 'pending',
           ${now.toISOString()}::timestamptz
    FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS x(id text, event_type text, payload jsonb, invoice_id text)
    JOIN invoices i ON i.id = x.invoice_id
    RETURNING id`);
  if (rowsOf(written).length !== rows.length) throw new Error("an invoice event names no invoice");
  return rows.map((r) => r.id);
}
