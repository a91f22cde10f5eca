// The memory store's outboxes (usage events, quota alerts): each item goes to its callback,
// or is kept to be drained, and never both.

import type { UsageEvent } from "./usage-event";

/** Takes one usage event. A throw or a rejection means it did not: the event is kept. */
export type UsageSink = (event: UsageEvent) => void | Promise<void>;

export interface UsageOutbox<T = UsageEvent> {
  /** Hands `event` to the sink at once, without waiting for it; keeps it if there is no sink or the sink fails. */
  emit(event: T): void;
  /** The kept events, in the order they were kept, forgotten as they are returned. */
  drain(): T[];
  /** Resolves once every sink call made so far has finished, and so has kept what it failed. */
  delivered(): Promise<void>;
  /** How many events are kept. */
  size(): number;
}

/**
 * An outbox that delivers to `sink`. The sink is called synchronously, in the order the
 * events are emitted, and not awaited: a limiter's answer must not wait for metering.
 *
 * @example
 * const outbox = usageOutbox(async (event) => queue.send(event));
 * outbox.emit(event);
 * await outbox.delivered();
 * const failed = outbox.drain(); // what the queue refused, to send again later
 */
export function usageOutbox<T = UsageEvent>(sink?: (event: T) => void | Promise<void>): UsageOutbox<T> {
  let kept: T[] = [];
  const inFlight = new Set<Promise<void>>();

  return {
    emit(event) {
      if (!sink) {
        kept.push(event);
        return;
      }
      let delivery: void | Promise<void>;
      try {
        delivery = sink(event);
      } catch {
        kept.push(event);
        return;
      }
      if (!delivery) return;
      const tracked: Promise<void> = Promise.resolve(delivery)
        .then(
          () => {},
          () => {
            kept.push(event);
          },
        )
        .finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
    },
    drain() {
      const out = kept;
      kept = [];
      return out;
    },
    async delivered() {
      while (inFlight.size > 0) await Promise.all(inFlight);
    },
    size: () => kept.length,
  };
}
