// Token bucket arithmetic in integer "ticks", so that admission is exact and never drifts.
//
// One token is TICKS_PER_TOKEN ticks, and a rate of R tokens per minute adds exactly R
// ticks per millisecond. Every quantity is an integer, so the bound
// "admitted <= burst + rate x elapsed" holds exactly rather than up to float error.

/** Ticks in one token: one minute in milliseconds. */
export const TICKS_PER_TOKEN = 60_000;

export interface BucketLimits {
  /** Tokens added per minute. 0 means a fixed allowance that never refills. */
  ratePerMinute: number;
  /** Capacity of the bucket, in tokens. */
  burst: number;
}

/** Persisted bucket state. `ticks` can be negative after a settle charged more than reserved. */
export interface BucketState {
  ticks: number;
  at: number;
}

export interface BucketTake {
  ok: boolean;
  /** The state after the call; identical to the input when nothing was consumed. */
  state: BucketState | undefined;
  /** Whole tokens left after the call. */
  remaining: number;
  /** Milliseconds until the call could succeed, or null if it never can under these limits. */
  retryAfterMs: number | null;
  /** Milliseconds until the bucket is full again, or null if it never refills. */
  resetMs: number | null;
}

const capacity = (limits: BucketLimits) => limits.burst * TICKS_PER_TOKEN;

/** The bucket's level at `now`, in ticks. A missing state is a full bucket. */
export function bucketLevel(state: BucketState | undefined, limits: BucketLimits, now: number): number {
  const cap = capacity(limits);
  if (!state) return cap;
  // A clock that moves backwards refills nothing.
  const elapsed = Math.max(0, now - state.at);
  if (limits.ratePerMinute === 0 || state.ticks >= cap) return Math.min(cap, state.ticks);
  // Cap elapsed at a full refill so the product cannot leave the exact integer range.
  const fullRefillMs = Math.ceil((cap - state.ticks) / limits.ratePerMinute);
  return Math.min(cap, state.ticks + Math.min(elapsed, fullRefillMs) * limits.ratePerMinute);
}

function msUntil(levelTicks: number, targetTicks: number, limits: BucketLimits): number | null {
  if (levelTicks >= targetTicks) return 0;
  if (limits.ratePerMinute === 0) return null;
  return Math.ceil((targetTicks - levelTicks) / limits.ratePerMinute);
}

function report(levelTicks: number, limits: BucketLimits) {
  return {
    remaining: Math.max(0, Math.floor(levelTicks / TICKS_PER_TOKEN)),
    resetMs: msUntil(levelTicks, capacity(limits), limits),
  };
}

/**
 * Takes `cost` tokens if they are all available, else nothing.
 * A cost of 0 peeks: it reports the level and leaves the state untouched.
 */
export function takeTokens(
  state: BucketState | undefined,
  limits: BucketLimits,
  cost: number,
  now: number,
): BucketTake {
  const level = bucketLevel(state, limits, now);
  const need = cost * TICKS_PER_TOKEN;
  if (cost === 0) return { ok: true, state, retryAfterMs: 0, ...report(level, limits) };
  if (level >= need) {
    const ticks = level - need;
    return {
      ok: true,
      state: { ticks, at: Math.max(now, state?.at ?? now) },
      retryAfterMs: 0,
      ...report(ticks, limits),
    };
  }
  const retryAfterMs = need > capacity(limits) ? null : msUntil(level, need, limits);
  return { ok: false, state, retryAfterMs, ...report(level, limits) };
}

/**
 * Takes up to `cost` tokens whether or not they are all available: the level floors at
 * zero, and a bucket already in debt stays where it is. Used by shadow mode, where an
 * over-limit call goes through but must not run up a debt that would keep the tenant
 * limited after shadow mode is switched off. Returns the ticks actually taken.
 */
export function forceTakeTokens(
  state: BucketState | undefined,
  limits: BucketLimits,
  cost: number,
  now: number,
): { state: BucketState; takenTicks: number } {
  const level = bucketLevel(state, limits, now);
  const ticks = level <= 0 ? level : Math.max(0, level - cost * TICKS_PER_TOKEN);
  return { state: { ticks, at: Math.max(now, state?.at ?? now) }, takenTicks: level - ticks };
}

/**
 * Moves the bucket by `deltaTicks` after a reservation is settled: a positive delta
 * refunds (up to capacity), a negative one charges and may leave the bucket in debt, so
 * that the limiter never enforces less than was actually used.
 */
export function adjustTicks(
  state: BucketState | undefined,
  limits: BucketLimits,
  deltaTicks: number,
  now: number,
): BucketState {
  const level = bucketLevel(state, limits, now);
  return { ticks: Math.min(capacity(limits), level + deltaTicks), at: Math.max(now, state?.at ?? now) };
}

/** Remaining whole tokens and ms until full, for reporting without taking. */
export function describeBucket(state: BucketState | undefined, limits: BucketLimits, now: number) {
  return report(bucketLevel(state, limits, now), limits);
}
