// The usage queue's consumer: validate each message and each event, dead-letter what is
// malformed, and store the rest with one SQL statement per batch.

import { describeError } from "../core/errors";
import { log } from "../core/log";
import type { QuotaAlert } from "../core/quota-alerts";
import type { UsageEvent } from "../core/usage-event";
import type { Database, DatabaseHandle } from "../db/database";
import { storeQuotaAlerts } from "./alert-ingest";
import { ingestUsage } from "./ingest";
import { quotaAlertSchema, usageEnvelopeSchema, usageEventSchema } from "./messages";

/** The slice of a Queues message the consumer uses. */
export interface ConsumedMessage {
  readonly id: string;
  readonly attempts: number;
  readonly body: unknown;
  ack(): void;
  retry(options?: { delaySeconds?: number }): void;
}

/** What goes to the dead-letter queue: the reason, and the message or events refused. */
export interface DeadLetter {
  reason: string;
  messageId: string;
  /** A whole message whose envelope is malformed. */
  original?: unknown;
  /** Events refused from an otherwise good message. */
  events?: unknown[];
}

export interface ConsumerDeps {
  openDatabase(): DatabaseHandle;
  deadLetter(letters: DeadLetter[]): Promise<void>;
}

/** Seconds before a retried message comes back: 2, 4, 8 ... capped at 5 minutes. */
export const retryDelaySeconds = (attempts: number): number => Math.min(300, 2 ** Math.max(1, attempts));

export interface ConsumeResult {
  stored: number;
  duplicates: number;
  deadLettered: number;
  retried: number;
}

/** Largest body kept in a dead letter, under the queue's 128 KB per message. */
const MAX_LETTER_BYTES = 100_000;
const reasonOf = (issues: { path: PropertyKey[]; message: string }[]) =>
  issues
    .slice(0, 5)
    .map((i) => `${i.path.map(String).join(".")}: ${i.message}`)
    .join("; ")
    .slice(0, 500);

function bounded(body: unknown): unknown {
  const size = JSON.stringify(body ?? null).length;
  return size <= MAX_LETTER_BYTES ? body : { truncated: true, bytes: size };
}

/** Errors in the data itself: retrying the same rows can only fail again. */
function isDataError(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") return /^(22|23|54)/.test(code);
  }
  return false;
}

/**
 * Inserts the events; if Postgres refuses the data of some of them, splits the batch in
 * halves until the refused events stand alone, and returns them instead of failing the rest.
 */
export async function ingestIsolating(
  db: Database,
  events: UsageEvent[],
): Promise<{ inserted: number; refused: { event: UsageEvent; reason: string }[] }> {
  try {
    return { inserted: (await ingestUsage(db, events)).inserted, refused: [] };
  } catch (err) {
    if (!isDataError(err)) throw err;
    if (events.length === 1)
      return { inserted: 0, refused: [{ event: events[0] as UsageEvent, reason: describeError(err) }] };
    const half = Math.ceil(events.length / 2);
    const a = await ingestIsolating(db, events.slice(0, half));
    const b = await ingestIsolating(db, events.slice(half));
    return { inserted: a.inserted + b.inserted, refused: [...a.refused, ...b.refused] };
  }
}

export async function consumeUsageBatch(
  messages: readonly ConsumedMessage[],
  deps: ConsumerDeps,
): Promise<ConsumeResult> {
  const letters: DeadLetter[] = [];
  const accepted: { message: ConsumedMessage; events: UsageEvent[] }[] = [];
  const alerts: QuotaAlert[] = [];
  for (const message of messages) {
    const envelope = usageEnvelopeSchema.safeParse(message.body);
    if (!envelope.success) {
      letters.push({ reason: reasonOf(envelope.error.issues), messageId: message.id, original: bounded(message.body) });
      accepted.push({ message, events: [] });
      continue;
    }
    const badAlerts: unknown[] = [];
    for (const raw of envelope.data.alerts ?? []) {
      const alert = quotaAlertSchema.safeParse(raw);
      if (alert.success) alerts.push(alert.data);
      else badAlerts.push(raw);
    }
    if (badAlerts.length > 0)
      letters.push({ reason: "malformed quota alert", messageId: message.id, events: badAlerts });
    const events: UsageEvent[] = [];
    const refused: unknown[] = [];
    let reason = "";
    for (const raw of envelope.data.events) {
      const event = usageEventSchema.safeParse(raw);
      if (event.success) events.push(event.data);
      else {
        refused.push(raw);
        reason ||= reasonOf(event.error.issues);
      }
    }
    if (refused.length > 0) letters.push({ reason, messageId: message.id, events: bounded(refused) as unknown[] });
    accepted.push({ message, events });
  }

  const result: ConsumeResult = { stored: 0, duplicates: 0, deadLettered: 0, retried: 0 };
  const retryAll = () => {
    for (const { message } of accepted) message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    result.retried = accepted.length;
  };
  const events = accepted.flatMap((a) => a.events);
  let handle: DatabaseHandle | undefined;
  try {
    if (alerts.length > 0) {
      handle = deps.openDatabase();
      await storeQuotaAlerts(handle.db, alerts);
    }
    if (events.length > 0) {
      handle ??= deps.openDatabase();
      const { inserted, refused } = await ingestIsolating(handle.db, events);
      for (const { event, reason } of refused) letters.push({ reason, messageId: "(ingest)", events: [event] });
      result.stored = inserted;
      result.duplicates = events.length - inserted - refused.length;
    }
  } catch (err) {
    // Never ack on a database error: the whole batch comes back later, and event ids make
    // the retry harmless if the first attempt did commit.
    retryAll();
    log.error("usage ingest failed; batch will be retried", { events: events.length, error: describeError(err) });
    return result;
  } finally {
    await handle?.close().catch(() => {});
  }

  if (letters.length > 0) {
    try {
      await deps.deadLetter(letters);
      result.deadLettered = letters.length;
      log.error("usage dead-lettered", { letters: letters.length, first: letters[0]?.reason });
    } catch (err) {
      // Not acked, not lost: the messages come back; what was stored is skipped as duplicates.
      retryAll();
      log.error("dead-lettering failed; batch will be retried", { error: describeError(err) });
      return result;
    }
  }
  for (const { message } of accepted) message.ack();
  return result;
}
