// A shifted wall clock for the whole test run. AEGIS_TEST_NOW=<ISO instant> makes vitest
// itself, its workers, workerd's isolates (Worker and Durable Objects) and the self-hosted
// servers tests start read that instant when the run starts, with time advancing as usual
// from there: a run started a few seconds before a UTC midnight crosses it on purpose. Not
// shifted: wrangler dev (the npm start test), the CLI and SDK smoke children, Postgres and
// Redis, whose clocks the code uses only for timestamps it stores. workerd runs alarms on
// the real clock, so in a run shifted into the past they fire at once.

/** The offset, in ms, every process of the run adds to the real clock. */
export const CLOCK_OFFSET_VAR = "AEGIS_TEST_CLOCK_OFFSET_MS";

/**
 * Replaces the global Date with one `offsetMs` ahead (or behind) of the real clock. It is a
 * function, not a subclass, so that `Date()` without `new` still works, and every date, also
 * one a structured clone or an RPC made from the real Date, is still `instanceof Date`.
 */
export function shiftClock(offsetMs: number): void {
  if (!Number.isFinite(offsetMs) || offsetMs === 0) return;
  if ((globalThis.Date as { shiftedBy?: number }).shiftedBy !== undefined) return;
  const Real = globalThis.Date;
  const now = () => Real.now() + offsetMs;
  function ShiftedDate(this: unknown, ...args: unknown[]): Date | string {
    if (new.target === undefined) return new Real(now()).toString();
    return args.length === 0 ? new Real(now()) : new Real(...(args as [string | number | Date]));
  }
  // Writable and configurable like Date's own: fake timers replace `now` on a subclass.
  const property = (value: unknown) => ({ value, writable: true, configurable: true });
  Object.defineProperties(ShiftedDate, {
    prototype: { value: Real.prototype },
    now: property(now),
    parse: property(Real.parse),
    UTC: property(Real.UTC),
    shiftedBy: property(offsetMs),
    [Symbol.hasInstance]: property((value: unknown) => value instanceof Real),
  });
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
