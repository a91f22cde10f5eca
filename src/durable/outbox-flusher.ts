// Sending a limiter's outbox to the usage queue: packed, in order, deleted only once sent.

import type { QuotaAlert } from "../core/quota-alerts";
import { packEvents, type UsageEvent, type UsageMessage } from "../core/usage-event";
import type { LimiterStorage, OutboxRow } from "./limiter-storage";

/** Most events read per flush; a longer outbox is sent over several flushes. */
export const FLUSH_MAX_EVENTS = 5_000;
/** Largest message body, under the Queues limit of 128 KB per message. */
const MESSAGE_MAX_BYTES = 120_000;
/** Largest sendBatch: Queues takes up to 100 messages and 256 KB per call. */
const BATCH_MAX_BYTES = 250_000;
const BATCH_MAX_MESSAGES = 100;

export interface FlushResult {
  sent: number;
  /** Events still waiting (a long outbox, or a send that failed). */
  remaining: number;
}

/**
 * Sends up to FLUSH_MAX_EVENTS of the oldest events. Each sendBatch that succeeds deletes
 * exactly the events it carried; a failure stops the flush and keeps the rest, so a
 * later flush sends them again. Delivery is at least once: the consumer's ON CONFLICT on
 * event ids turns a repeat into nothing.
 */
export async function flushOutbox(
  storage: LimiterStorage,
  queue: Pick<Queue<UsageMessage>, "sendBatch">,
): Promise<FlushResult> {
  const rows = storage.readOutbox(FLUSH_MAX_EVENTS);
  if (rows.length === 0) return { sent: 0, remaining: 0 };
  const encoder = new TextEncoder();
  let sent = 0;
  let offset = 0;
  let batch: { body: UsageMessage; count: number }[] = [];
  let batchBytes = 0;

  const send = async () => {
    if (batch.length === 0) return;
    await queue.sendBatch(batch.map((m) => ({ body: m.body, contentType: "json" })));
    const count = batch.reduce((n, m) => n + m.count, 0);
    const last = rows[offset + count - 1];
    if (last) storage.deleteOutboxThrough(last.seq);
    offset += count;
    sent += count;
    batch = [];
    batchBytes = 0;
  };

  for (const body of messagesOf(rows)) {
    const bytes = encoder.encode(JSON.stringify(body)).length;
    if (batch.length > 0 && (batchBytes + bytes > BATCH_MAX_BYTES || batch.length === BATCH_MAX_MESSAGES)) await send();
    batch.push({ body, count: body.events.length + (body.alerts?.length ?? 0) });
    batchBytes += bytes;
  }
  await send();
  return { sent, remaining: storage.outboxSize() };
}

/**
 * The rows as messages, in their order (a send deletes through its last row): each run of
 * events packed under the size limit, each run of quota alerts (a few a day, and small) in
 * one message of its own.
 */
function messagesOf(rows: OutboxRow[]): UsageMessage[] {
  const out: UsageMessage[] = [];
  for (let i = 0; i < rows.length; ) {
    const first = rows[i] as OutboxRow;
    let j = i;
    if ("alert" in first) {
      const alerts: QuotaAlert[] = [];
      for (let r = rows[j]; r && "alert" in r; r = rows[++j]) alerts.push(r.alert);
      out.push({ v: 1, events: [], alerts });
    } else {
      const events: UsageEvent[] = [];
      for (let r = rows[j]; r && "event" in r; r = rows[++j]) events.push(r.event);
      out.push(...packEvents(events, MESSAGE_MAX_BYTES));
    }
    i = j;
  }
  return out;
}
