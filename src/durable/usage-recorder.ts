// The TenantLimiter's usage events: built with their dimensions and appended to its outbox,
// in the caller's synchronous block, so each commits with the quota change it belongs to.

import type { QuotaAlert } from "../core/quota-alerts";
import { estimatedDimensions, eventDimensions } from "../core/usage-dimensions";
import {
  cleanMetadata,
  newEventId,
  type UsageDimensions,
  type UsageEvent,
  type UsageMetadata,
} from "../core/usage-event";
import type { AlarmSchedule } from "./alarm-schedule";
import type { LimiterStorage, Reservation } from "./limiter-storage";

/** How long events gather in the outbox before a flush, so one send carries many. */
const FLUSH_DELAY_MS = 1_000;

/** The base of an event: its dimensions are added from a UsageDimensions. */
type EventBase = Pick<UsageEvent, "eventId" | "tenantId" | "route" | "units" | "occurredAt" | "metadata">;

export class UsageRecorder {
  /** While `batched` runs: what it appends, written in one statement at its end. */
  private gathered: string[] | null = null;

  constructor(
    private readonly storage: LimiterStorage,
    private readonly alarms: AlarmSchedule,
    /** The tenant's id and the limiter's clock, read at each event (tests replace the clock). */
    private readonly tenantId: () => string,
    private readonly clock: () => number,
  ) {}

  /**
   * Appends an event with its dimensions (see eventDimensions) and cleaned metadata, and
   * makes sure a flush follows unless `schedule` is false (the alarm itself, which flushes next).
   */
  event(event: EventBase, usage: UsageDimensions, schedule = true): void {
    const { metadata, ...rest } = event;
    const clean = cleanMetadata(metadata);
    const dimensions = eventDimensions(usage, clean);
    this.append(JSON.stringify(clean ? { ...rest, ...dimensions, metadata: clean } : { ...rest, ...dimensions }));
    if (schedule) this.alarms.schedule(FLUSH_DELAY_MS);
  }

  /** A settled reservation's event: `units` with the settle's breakdown, under both calls' metadata. */
  reservation(
    r: Reservation,
    units: number,
    metadata: UsageMetadata | undefined,
    usage: UsageDimensions,
    schedule = true,
  ) {
    const merged = r.metadata || metadata ? { ...r.metadata, ...metadata } : undefined;
    // Reservations made before reserved_at existed carry 0: date them now rather than 1970.
    const occurredAt = r.reservedAt > 0 ? r.reservedAt : this.clock();
    const base = { eventId: newEventId(), tenantId: this.tenantId(), route: r.route, units, occurredAt };
    this.event({ ...base, metadata: merged }, usage, schedule);
  }

  /**
   * A call's event, under a new id: a call admitted without a reservation, one a lease's
   * holder reported, or what a lease still held when its hold ran out unclosed.
   */
  call(
    route: string,
    units: number,
    occurredAt: number,
    metadata: UsageMetadata | undefined,
    usage: UsageDimensions | undefined,
    schedule = true,
  ): void {
    const base = { eventId: newEventId(), tenantId: this.tenantId(), route, units, occurredAt };
    this.event({ ...base, metadata }, usage ?? {}, schedule);
  }

  /** A quota alert, sent with the usage events to the queue, and from there to the webhook outbox. */
  alert(alert: QuotaAlert): void {
    this.append(JSON.stringify({ alert }));
    this.alarms.schedule(FLUSH_DELAY_MS);
  }

  /**
   * Runs `work`, writing every event and alert it records at its end, in order, in as few
   * statements as their size allows. Nothing is written if `work` throws. Nested, the inner
   * block's rows join the outer's.
   */
  batched<T>(work: () => T): T {
    if (this.gathered) return work();
    this.gathered = [];
    let rows: string[];
    let result: T;
    try {
      result = work();
    } finally {
      rows = this.gathered;
      this.gathered = null;
    }
    this.storage.appendOutbox(rows);
    return result;
  }

  private append(row: string): void {
    if (this.gathered) this.gathered.push(row);
    else this.storage.appendOutbox([row]);
  }

  /** A reservation not settled in time: recorded at its estimate, marked so, with no tokens. */
  estimate(r: Reservation, metadata?: UsageMetadata, schedule = true): void {
    this.reservation(r, r.units, metadata, estimatedDimensions(r.model), schedule);
  }
}
