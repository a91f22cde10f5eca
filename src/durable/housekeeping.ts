// What the TenantLimiter's alarm does: records reservations that expired unsettled at their
// estimate, and leases whose hold ran out unclosed at what they still held, forgets old
// idempotency keys, sends the outbox to the usage queue (a failed send is retried with
// backoff), and sets the alarm again for the next expiry or hold.

import { IDEMPOTENCY_TTL_MS } from "../core/limiter-rules";
import type { UsageMessage } from "../core/usage-event";
import type { AlarmSchedule } from "./alarm-schedule";
import type { DurableLeases } from "./leases";
import type { LimiterStorage } from "./limiter-storage";
import { flushOutbox } from "./outbox-flusher";
import type { UsageRecorder } from "./usage-recorder";

export interface HousekeepingParts {
  storage: LimiterStorage;
  outbox: UsageRecorder;
  alarms: AlarmSchedule;
  leases: Pick<DurableLeases, "sweep">;
  queue: Pick<Queue<UsageMessage>, "sendBatch">;
  /** The tenant, for the log of a failed send. */
  tenant: string | undefined;
}

/** One alarm's work, as of `now` (the limiter's clock). */
export async function housekeep(parts: HousekeepingParts, now: number): Promise<void> {
  const { storage, outbox, alarms } = parts;
  alarms.fired();
  // Not scheduling a flush per event: this alarm flushes next.
  for (const r of storage.takeExpiredReservations(now)) outbox.estimate(r, undefined, false);
  parts.leases.sweep(now);
  storage.forgetIdempotencyKeysBefore(now - IDEMPOTENCY_TTL_MS);
  await alarms.send(() => flushOutbox(storage, parts.queue), parts.tenant);
  const expiry = storage.nextExpiry();
  if (expiry !== null) alarms.schedule(Math.max(0, expiry - now));
}
