// What every limiter store shares: how long it remembers things, and what a call may cost.
// The Durable Object and the Redis store import these, so the two backends cannot drift.

import { DAY_MS } from "./calendar";
import { MAX_CALL_UNITS } from "./limits";

/** LIMITER_TIMEOUT_MS's default: the bound on one limiter call. */
export const DEFAULT_LIMITER_TIMEOUT_MS = 1_500;
/** LIMITER_LOAD_TIMEOUT_MS's default: the bound on loading a cold tenant from Postgres. */
export const DEFAULT_LOAD_TIMEOUT_MS = 5_000;
/** RESERVATION_TTL_SECONDS's default: how long an unsettled reservation is held. */
export const DEFAULT_RESERVATION_TTL_SECONDS = 900;

/** How long an unknown tenant id is remembered before Postgres is asked again. */
export const MISSING_TENANT_TTL_MS = 30_000;
/** A key the cached config does not know reloads the config, at most once per this period. */
export const UNKNOWN_KEY_REFRESH_MS = 30_000;
/** How long a reported usage's idempotency key is remembered. */
export const IDEMPOTENCY_TTL_MS = 7 * DAY_MS;

/**
 * The most settles one settleMany takes. A batch is applied in one step (a script on Redis),
 * which holds everything else of the limiter back while it runs: a batch past this is a bug
 * in the caller (the settle coalescer sends 100 at most), refused before any of it is applied.
 */
export const MAX_SETTLE_BATCH = 1_000;

/** When a reservation made at `now` expires unsettled (RESERVATION_TTL_SECONDS is in seconds). */
export function reservationExpiry(now: number, ttlSeconds: number): number {
  return now + ttlSeconds * 1000;
}

/** Refuses a cost, settlement or report outside 0..MAX_CALL_UNITS, before any state moves. */
export function assertUnits(units: number, what = "units"): void {
  if (!Number.isSafeInteger(units) || units < 0 || units > MAX_CALL_UNITS) {
    throw new RangeError(`${what} must be a whole number from 0 to ${MAX_CALL_UNITS}, got ${units}`);
  }
}
