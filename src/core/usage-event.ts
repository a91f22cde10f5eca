// Usage events: their shape, their ids, and how they are packed into queue messages.

import { sha256Hex } from "./secrets";

/** Metadata kept with an event (the model, a job id): flat and small. */
export type UsageMetadata = Record<string, string | number | boolean>;

export interface UsageEvent {
  /** Unique across the pipeline; the consumer inserts with ON CONFLICT (event_id) DO NOTHING. */
  eventId: string;
  tenantId: string;
  route: string;
  units: number;
  /** When the usage happened, in ms since the epoch. */
  occurredAt: number;
  metadata?: UsageMetadata;
}

/** A queue message body: many events, so one send carries a batch. */
export interface UsageMessage {
  v: 1;
  events: UsageEvent[];
}

/** A fresh event id for usage the gateway observed. */
export const newEventId = (): string => `ev_${crypto.randomUUID()}`;

/**
 * The event id of a caller-supplied idempotency key: the same tenant and key always give
 * the same id, so a retried report is one row even if the limiter's memory of the key
 * has lapsed.
 */
export async function idempotentEventId(tenantId: string, idempotencyKey: string): Promise<string> {
  return `ik_${(await sha256Hex(`${tenantId}\u0000${idempotencyKey}`)).slice(0, 48)}`;
}

/**
 * Packs events into message bodies whose JSON stays under `maxBytes`, keeping their order.
 * An event that alone exceeds the limit gets a message of its own (its metadata is bounded
 * upstream, so this does not happen in practice).
 */
export function packEvents(events: UsageEvent[], maxBytes: number): UsageMessage[] {
  const encoder = new TextEncoder();
  const overhead = encoder.encode('{"v":1,"events":[]}').length;
  const messages: UsageMessage[] = [];
  let current: UsageEvent[] = [];
  let size = overhead;
  for (const event of events) {
    const bytes = encoder.encode(JSON.stringify(event)).length + 1; // and a comma
    if (current.length > 0 && size + bytes > maxBytes) {
      messages.push({ v: 1, events: current });
      current = [];
      size = overhead;
    }
    current.push(event);
    size += bytes;
  }
  if (current.length > 0) messages.push({ v: 1, events: current });
  return messages;
}
