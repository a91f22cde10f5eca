// Usage events: their shape, their ids, and how they are packed into queue messages.

import { sha256Hex } from "./secrets";

/** Metadata kept with an event (the model, a job id): flat and small. */
export type UsageMetadata = Record<string, string | number | boolean>;

export interface UsageEvent {
  /** Unique across the pipeline; the consumer inserts with ON CONFLICT (event_id) DO NOTHING. */
  eventId: string;
  tenantId: string;
  route: string;
  /** What the limiter enforces: input + output tokens on token routes, the fixed cost elsewhere. */
  units: number;
  /** When the usage happened, in ms since the epoch. */
  occurredAt: number;
  metadata?: UsageMetadata;
  // The usage dimensions (v2 contract). Events from before them, still in a queue or an
  // outbox, lack them: they count as one request of no known model and no tokens.
  /** The model the upstream named; null or absent when unknown. */
  model?: string | null;
  /** Calls: 1 per call. Default 1. */
  requests?: number;
  /** Every input token, cached ones included. Default 0. */
  inputTokens?: number;
  /** Output tokens, reasoning included. Default 0. */
  outputTokens?: number;
  /** The part of inputTokens served from a cache. Default 0. */
  cachedInputTokens?: number;
  /** True when the upstream reported nothing and the units are the gateway's estimate. */
  estimated?: boolean;
}

/**
 * The breakdown of one call's usage, as a limiter is told it (settle, record). The limiter
 * adds `requests: 1` and, when `model` is absent, takes `metadata.model` (see eventDimensions).
 */
export interface UsageDimensions {
  model?: string | null;
  inputTokens?: number;
  outputTokens?: number;
  cachedInputTokens?: number;
  /** The upstream reported nothing: the units are the gateway's estimate. */
  estimated?: boolean;
}

/** A queue message body: many events, so one send carries a batch. */
import type { QuotaAlert } from "./quota-alerts";

export interface UsageMessage {
  v: 1;
  events: UsageEvent[];
  /** Quota alerts the limiter wrote with its counters, for the webhook outbox. */
  alerts?: QuotaAlert[];
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Text that Postgres can store in jsonb. A NUL or a lone surrogate makes the whole ingest
 * statement fail, and with it every other event of the batch.
 */
export function isStorableText(text: string): boolean {
  return !text.includes("\u0000") && !LONE_SURROGATE.test(text);
}

export const METADATA_MAX_ENTRIES = 16;
export const METADATA_MAX_KEY = 64;
export const METADATA_MAX_VALUE = 256;

/**
 * Metadata as it may travel and be stored: at most 16 entries whose keys are short text and
 * whose values are short text, finite numbers or booleans. Anything else is dropped, so
 * that no event can carry what the consumer would refuse.
 */
export function cleanMetadata(metadata: Record<string, unknown> | undefined): UsageMetadata | undefined {
  if (!metadata) return undefined;
  const clean: UsageMetadata = {};
  let entries = 0;
  for (const [key, value] of Object.entries(metadata)) {
    if (entries === METADATA_MAX_ENTRIES) break;
    if (key.length === 0 || key.length > METADATA_MAX_KEY || !isStorableText(key)) continue;
    const ok =
      (typeof value === "string" && value.length <= METADATA_MAX_VALUE && isStorableText(value)) ||
      (typeof value === "number" && Number.isFinite(value)) ||
      typeof value === "boolean";
    if (!ok) continue;
    clean[key] = value as string | number | boolean;
    entries++;
  }
  return entries > 0 ? clean : undefined;
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
