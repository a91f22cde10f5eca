// When a limiter's alarm fires: soon after an event joins the outbox, at the next
// reservation expiry, and, after a failed send, not before a backoff that doubles per
// failure (capped at 5 minutes), however many events arrive meanwhile.

import { describeError } from "../core/errors";
import { log } from "../core/log";

/** Longest wait after failed sends. */
const MAX_BACKOFF_MS = 300_000;

export class AlarmSchedule {
  /** When the alarm is set for (real time), or null when none is. */
  private alarmAt: number | null = null;
  private failures = 0;
  /** While sends fail, no alarm before this time. */
  private notBefore = 0;

  constructor(private readonly storage: DurableObjectStorage) {}

  /** Reads the alarm that storage holds; run inside blockConcurrencyWhile. */
  async restore(): Promise<void> {
    this.alarmAt = await this.storage.getAlarm();
  }

  /** The alarm has fired: none is set until the next schedule(). */
  fired(): void {
    this.alarmAt = null;
  }

  /** Sets the alarm `inMs` from now unless one is already set for sooner; never sooner than a backoff allows. */
  schedule(inMs: number): void {
    const at = Math.max(Date.now() + inMs, this.notBefore);
    if (this.alarmAt !== null && this.alarmAt <= at) return;
    this.alarmAt = at;
    void this.storage.setAlarm(at);
  }

  /** Runs a send: on success the backoff resets, and what is left goes at once; on failure the next try waits. */
  async send(flush: () => Promise<{ remaining: number }>, tenant: string | undefined): Promise<void> {
    try {
      const { remaining } = await flush();
      this.failures = 0;
      this.notBefore = 0;
      if (remaining > 0) this.schedule(0);
    } catch (err) {
      this.failures++;
      const delay = Math.min(MAX_BACKOFF_MS, 1_000 * 2 ** this.failures);
      this.notBefore = Date.now() + delay;
      log.error("usage outbox flush failed", { tenant, retryInMs: delay, error: describeError(err) });
      this.schedule(delay);
    }
  }
}
