// The usage queue's consumer: validate each message, dead-letter the malformed ones, and
// store the rest with one SQL statement per batch.

import { describeError } from "../core/errors";
import type { UsageEvent, UsageMessage } from "../core/usage-event";
import type { DatabaseHandle } from "../db/database";
import { ingestUsage } from "./ingest";
import { usageMessageSchema } from "./messages";

/** The slice of a Queues message the consumer uses. */
export interface ConsumedMessage {
  readonly id: string;
  readonly attempts: number;
  readonly body: unknown;
  ack(): void;
  retry(options?: { delaySeconds?: number }): void;
}

export interface ConsumerDeps {
  openDatabase(): DatabaseHandle;
  /** Where malformed messages go, with the reason. */
  deadLetter(messages: { body: unknown }[]): Promise<void>;
}

/** Seconds before a retried message comes back: 2, 4, 8 ... capped at 5 minutes. */
export const retryDelaySeconds = (attempts: number): number => Math.min(300, 2 ** Math.max(1, attempts));

export interface ConsumeResult {
  stored: number;
  duplicates: number;
  deadLettered: number;
  retried: number;
}

export async function consumeUsageBatch(
  messages: readonly ConsumedMessage[],
  deps: ConsumerDeps,
): Promise<ConsumeResult> {
  const good: { message: ConsumedMessage; events: UsageEvent[] }[] = [];
  const bad: { message: ConsumedMessage; reason: string }[] = [];
  for (const message of messages) {
    const parsed = usageMessageSchema.safeParse(message.body);
    if (parsed.success) good.push({ message, events: (parsed.data as UsageMessage).events });
    else bad.push({ message, reason: parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ") });
  }
  const result: ConsumeResult = { stored: 0, duplicates: 0, deadLettered: 0, retried: 0 };

  if (bad.length > 0) {
    try {
      await deps.deadLetter(
        bad.map(({ message, reason }) => ({ body: { reason, messageId: message.id, original: message.body } })),
      );
      for (const { message } of bad) message.ack();
      result.deadLettered = bad.length;
      console.error(JSON.stringify({ msg: "usage messages dead-lettered", count: bad.length, first: bad[0]?.reason }));
    } catch (err) {
      // Not acked, not lost: they come back and try the dead-letter queue again.
      for (const { message } of bad) message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
      result.retried += bad.length;
      console.error(JSON.stringify({ msg: "dead-lettering failed", error: describeError(err) }));
    }
  }

  if (good.length === 0) return result;
  const events = good.flatMap((g) => g.events);
  let handle: DatabaseHandle | undefined;
  try {
    handle = deps.openDatabase();
    const { inserted } = await ingestUsage(handle.db, events);
    for (const { message } of good) message.ack();
    result.stored = inserted;
    result.duplicates = events.length - inserted;
  } catch (err) {
    // Never ack on a database error: the whole batch comes back later, and event ids make
    // the retry harmless if the first attempt did commit.
    for (const { message } of good) message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    result.retried += good.length;
    console.error(
      JSON.stringify({
        msg: "usage ingest failed; batch will be retried",
        events: events.length,
        error: describeError(err),
      }),
    );
  } finally {
    await handle?.close().catch(() => {});
  }
  return result;
}
