// Running a UsageStreamConsumer: poll, store, and back off while Redis or Postgres fails. The
// self-hosted server runs one, and so can an app that embeds the Redis limiter.

import { describeError } from "../core/errors";
import { log } from "../core/log";
import { withTimeout } from "../core/timeout";
import type { PollResult, UsageStreamConsumer } from "./usage-stream-consumer";

export interface UsageConsumerLoopOptions {
  /** The wait after a poll that read nothing. */
  idlePollMs?: number;
  /** Wraps every poll, e.g. to time and count it in metrics. */
  observe?: (poll: Promise<PollResult>) => Promise<PollResult>;
  /** How long `stop()` waits for the poll in flight. Default 3 s. */
  stopWaitMs?: number;
}

/** How long `stop()` waits for a poll in flight before its last poll, by default. */
export const STOP_WAIT_MS = 3_000;

/**
 * Polls `consumer` until stopped: at once while entries are waiting, every `idlePollMs`
 * (200) when none were, and with a doubling backoff (up to 10 s) after a failure or a
 * batch Postgres did not store. Polls never overlap, so a `flush()` sees what the poll in
 * flight stored.
 *
 * @example
 * const loop = new UsageConsumerLoop(new UsageStreamConsumer({ redis, prefix, openDatabase, consumer: "app-1" }));
 * loop.start();
 * process.on("SIGTERM", () => void loop.stop());
 */
export class UsageConsumerLoop {
  private polling: Promise<unknown> = Promise.resolve();
  private running: Promise<void> | null = null;
  private stopping = false;
  private wake: () => void = () => {};
  private failed = 0;

  constructor(
    private readonly consumer: UsageStreamConsumer,
    private readonly options: UsageConsumerLoopOptions = {},
  ) {}

  /** Failed polls in a row (or polls whose batch was not stored); 0 when the last one stored. */
  get failures(): number {
    return this.failed;
  }

  /** Starts polling in the background. */
  start(): this {
    this.running ??= this.run();
    return this;
  }

  /** One poll, after the one in flight. */
  poll(options?: { refreshTenants?: boolean }): Promise<PollResult> {
    const poll = () => this.consumer.poll(options);
    const next = this.polling.then(() => (this.options.observe ? this.options.observe(poll()) : poll()));
    this.polling = next.catch(() => {});
    return next;
  }

  /** Stores every usage event written so far; fails if Postgres refuses a batch. */
  async flush(): Promise<void> {
    // Each round stores a batch and the next finds what is left; a batch Postgres refused
    // would be read again forever, so that ends the flush with an error instead.
    for (let round = 0; round < 10_000; round++) {
      const r = await this.poll({ refreshTenants: true });
      if (r.retried > 0) throw new Error(`usage could not be stored: ${r.retried} events wait to be retried`);
      if (r.read === 0) return;
    }
    throw new Error("usage is written faster than it can be flushed");
  }

  /** Ends the polling; resolves once the poll in flight is done. */
  halt(): Promise<void> {
    this.stopping = true;
    this.wake();
    return this.running ?? Promise.resolve();
  }

  /**
   * Ends the polling and stores what was written before it, unless Redis or Postgres is
   * known to be failing, or the poll in flight did not end within 3 s (Redis hangs): then
   * it stays in the streams, for the next consumer to store.
   */
  async stop(): Promise<void> {
    const wait = this.options.stopWaitMs ?? STOP_WAIT_MS;
    // halt() never rejects (run() catches every poll's error): a rejection here is the timeout.
    const halted = await withTimeout(this.halt(), wait, () => new Error(`poll still running after ${wait} ms`)).then(
      () => true,
      () => false,
    );
    // A last poll on a Redis that just hung would only hang too, past any shutdown grace.
    if (halted && this.failed === 0) {
      await this.poll().catch((err: unknown) => log.error("final usage poll failed", { error: describeError(err) }));
    }
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      try {
        const r = await this.poll();
        // A batch that could not be stored (Postgres down) stays pending: back off as for an error.
        this.failed = r.retried > 0 ? this.failed + 1 : 0;
        if (this.failed > 0) await this.pause(Math.min(10_000, 250 * 2 ** this.failed));
        else if (r.read === 0) await this.pause(this.options.idlePollMs ?? 200);
      } catch (err) {
        this.failed++;
        log.error("usage stream poll failed", { error: describeError(err) });
        await this.pause(Math.min(10_000, 250 * 2 ** this.failed));
      }
    }
  }

  /** A wait that `halt()` cuts short, so a shutdown does not wait out a backoff. */
  private pause(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
