// A shifted wall clock for the whole test run. AEGIS_TEST_NOW=<ISO instant> makes every
// process of the run (vitest itself, its workers, workerd, the servers tests start) read
// that instant when the run starts, with time advancing as usual from there: a run started
// with AEGIS_TEST_NOW a few seconds before a UTC midnight crosses it on purpose. Postgres
// and Redis keep their own clocks; the code uses theirs only for timestamps it stores.

/** The offset, in ms, every process of the run adds to the real clock. */
export const CLOCK_OFFSET_VAR = "AEGIS_TEST_CLOCK_OFFSET_MS";

/** Replaces the global Date with one `offsetMs` ahead (or behind) of the real clock. */
export function shiftClock(offsetMs: number): void {
  if (!Number.isFinite(offsetMs) || offsetMs === 0) return;
  if ((globalThis.Date as { shiftedBy?: number }).shiftedBy !== undefined) return;
  const Real = globalThis.Date;
  class ShiftedDate extends Real {
    static readonly shiftedBy = offsetMs;
    constructor(...args: unknown[]) {
      if (args.length === 0) super(Real.now() + offsetMs);
      else super(...(args as [string | number | Date]));
    }
    static override now(): number {
      return Real.now() + offsetMs;
    }
  }
  globalThis.Date = ShiftedDate as unknown as DateConstructor;
}

/** Seconds before midnight a run started with AEGIS_TEST_NOW=midnight begins. */
const BEFORE_MIDNIGHT_MS = 30_000;

/**
 * The offset for this run, from AEGIS_TEST_NOW in the process that starts it: an ISO
 * instant, or `midnight` for 30 s before the last UTC midnight. The instant must be in the
 * past: workerd runs Durable Object alarms on the real clock, so a clock shifted ahead would
 * hold every alarm back by the shift.
 */
export function offsetFor(now: string | undefined, real = Date.now()): number {
  if (!now) return 0;
  const at = now === "midnight" ? real - (real % 86_400_000) - BEFORE_MIDNIGHT_MS : Date.parse(now);
  if (Number.isNaN(at))
    throw new Error(`AEGIS_TEST_NOW must be an ISO instant or "midnight", got ${JSON.stringify(now)}`);
  if (at > real)
    throw new Error(`AEGIS_TEST_NOW must be in the past (Durable Object alarms run on the real clock), got ${now}`);
  return at - real;
}
