// How an invoice is shown: in the operator API and in webhook payloads.

import type { InvoiceLine, InvoiceLineV1, InvoiceRow } from "../db/schema";

export type InvoiceStatus = "draft" | "issued" | "paid" | "void";

export interface InvoiceView {
  id: string;
  tenantId: string;
  periodStart: string;
  periodEnd: string;
  units: number;
  amountMinor: number;
  currency: string;
  status: InvoiceStatus;
  /** v2 lines; invoices issued before the price book keep their v1 lines (one per route). */
  lineItems: InvoiceLine[] | InvoiceLineV1[];
  /** The tenant's billing references when the invoice was issued, so a billing system can charge without a lookup. */
  billingAccountId: string | null;
  paymentMethodRef: string | null;
  createdAt?: string;
  paidAt?: string | null;
  voidedAt?: string | null;
}

export function invoiceView(row: InvoiceRow): InvoiceView {
  return {
    id: row.id,
    tenantId: row.tenantId,
    periodStart: row.periodStart,
    periodEnd: row.periodEnd,
    units: row.units,
    amountMinor: row.amountMinor,
    currency: row.currency,
    status: row.status,
    lineItems: row.lineItems,
    billingAccountId: row.billingAccountId,
    paymentMethodRef: row.paymentMethodRef,
    createdAt: row.createdAt.toISOString(),
    paidAt: row.paidAt?.toISOString() ?? null,
    voidedAt: row.voidedAt?.toISOString() ?? null,
  };
}

export type InvoiceEventType = "invoice.created" | "invoice.paid" | "invoice.voided";

export interface WebhookEvent {
  type: InvoiceEventType;
  payload: { type: InvoiceEventType; timestamp: string; data: InvoiceView };
}

/**
 * A webhook event about an invoice. The payload is the invoice itself: no secrets, and
 * small (a line per model, dimension and tier, and per late period).
 */
export function invoiceEvent(type: InvoiceEventType, invoice: InvoiceView, at = new Date()): WebhookEvent {
  return { type, payload: { type, timestamp: at.toISOString(), data: invoice } };
}
