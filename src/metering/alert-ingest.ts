// Quota alerts from the limiters into the webhook outbox: one pending delivery per tenant, day,
// policy and threshold, whatever the number of times the limiter's message arrives. The
// billing dispatcher then signs, sends, retries and redelivers them as it does invoice events.

import { sql } from "drizzle-orm";
import { alertDeliveryId, alertWebhookEvent, type QuotaAlert } from "../core/quota-alerts";
import { type Database, rowsOf } from "../db/database";

/** Writes the alerts as pending webhook deliveries, due now; returns how many were new. */
export async function storeQuotaAlerts(db: Database, alerts: readonly QuotaAlert[], now = new Date()): Promise<number> {
  if (alerts.length === 0) return 0;
  const rows = alerts.map((a) => {
    const event = alertWebhookEvent(a);
    return { id: alertDeliveryId(a), event_type: event.type, payload: event.payload };
  });
  const result = await db.execute(sql`
    INSERT INTO webhook_deliveries (id, event_type, payload, status, next_attempt_at)
    SELECT x.id, x.event_type, x.payload, 'pending', ${now.toISOString()}::timestamptz
    FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS x(id text, event_type text, payload jsonb)
    ORDER BY x.id
    ON CONFLICT (id) DO NOTHING
    RETURNING id`);
  return rowsOf(result).length;
}
