// The delivery history, and sending a delivery again.

import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../../db/database";
import { newestFirst, type Position, pageOf } from "../../db/keyset";
import { type WebhookDeliveryRow, webhookDeliveries } from "../../db/schema";

export type DeliveryStatus = WebhookDeliveryRow["status"];

export interface DeliveryView {
  id: string;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: string;
  deliveredAt: string | null;
  payload: Record<string, unknown>;
}

export function deliveryView(row: WebhookDeliveryRow): DeliveryView {
  return {
    id: row.id,
    eventType: row.eventType,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.nextAttemptAt?.toISOString() ?? null,
    lastStatus: row.lastStatus,
    lastError: row.lastError,
    createdAt: row.createdAt.toISOString(),
    deliveredAt: row.deliveredAt?.toISOString() ?? null,
    payload: row.payload,
  };
}

/** Newest first, optionally by status and by the tenant the event is about. */
export async function listDeliveries(
  db: Database,
  filter: { status?: DeliveryStatus; tenantId?: string; limit: number; after?: Position },
): Promise<{ items: DeliveryView[]; next: Position | null }> {
  const order = newestFirst(webhookDeliveries.createdAt, webhookDeliveries.id, filter.after);
  const rows = await db
    .select()
    .from(webhookDeliveries)
    .where(
      and(
        filter.status ? eq(webhookDeliveries.status, filter.status) : undefined,
        // Every event names its tenant there: an invoice's, or a quota alert's.
        filter.tenantId ? sql`${webhookDeliveries.payload} #>> '{data,tenantId}' = ${filter.tenantId}` : undefined,
        order.where,
      ),
    )
    .orderBy(...order.orderBy)
    .limit(filter.limit + 1);
  return pageOf(rows, filter.limit, deliveryView);
}

/**
 * Makes a delivery due again, whatever became of it (delivered, failed, disabled): the
 * same webhook-id, so a receiver that deduplicates sees the repeat for what it is. Its
 * attempts start over, so the retry schedule applies again in full.
 */
export async function redeliver(db: Database, id: string, now = new Date()): Promise<DeliveryView | null> {
  const [row] = await db
    .update(webhookDeliveries)
    // Clearing the claim makes an attempt in flight drop its outcome instead of overwriting this.
    .set({ status: "pending", attempts: 0, nextAttemptAt: now, lastError: null, claimToken: null })
    .where(eq(webhookDeliveries.id, id))
    .returning();
  return row ? deliveryView(row) : null;
}
