// The webhook outbox: deliveries written in the transaction of the change they announce.

import { sql } from "drizzle-orm";
import type { Transaction } from "../../db/database";
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
