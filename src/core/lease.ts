// Token leases, the authority's side: a lease takes whole tokens out of a bucket now, for a
// holder (an isolate or a process) to admit calls from without a round trip, and takes back
// what the holder did not use. Pure integer arithmetic on the bucket, like a check: units
// leased are units taken, so across every holder the admitted units can never exceed what
// the bucket allowed (burst + rate x elapsed). A holder may under-admit while tokens sit in
// another holder's lease; it never over-admits.
//
// lease-grant.ts applies them to every policy of a call; docs/architecture.md, "Token leases".

import { type BucketLimits, type BucketState, bucketLevel, TICKS_PER_TOKEN } from "./token-bucket";

/**
 * How long a lease lasts. A holder admits from it only until then, and renews it (which
 * authenticates the key again) to go on: so revocation, suspension and quota changes reach
 * every holder within one term.
 */
export const LEASE_TERM_MS = 1_000;

export interface LeaseGrant {
  /** Whole tokens granted: 0, or at least the `min` asked for. */
  granted: number;
  /** The bucket after the grant; the input state when nothing was granted. */
  state: BucketState | undefined;
}

/**
 * Grants up to `want` whole tokens, as many as the bucket holds now, but nothing unless it
 * holds at least `min` (the call that asked needs that many to be admitted).
 */
export function grantTokens(
  state: BucketState | undefined,
  limits: BucketLimits,
  want: number,
  min: number,
  now: number,
): LeaseGrant {
  assertTokens(want, "want");
  assertTokens(min, "min");
  const level = bucketLevel(state, limits, now);
  const available = Math.max(0, Math.floor(level / TICKS_PER_TOKEN));
  const granted = Math.min(Math.max(want, min), available);
  if (granted === 0 || granted < min) return { granted: 0, state };
  return { granted, state: { ticks: level - granted * TICKS_PER_TOKEN, at: Math.max(now, state?.at ?? now) } };
}

/**
 * Puts back the tokens a holder did not use, up to the bucket's capacity: a bucket that
 * refilled meanwhile keeps no more than it holds when full, so a return never lets the
 * bucket give out more than burst + rate x elapsed.
 */
export function returnTokens(
  state: BucketState | undefined,
  limits: BucketLimits,
  unused: number,
  now: number,
): BucketState | undefined {
  assertTokens(unused, "unused");
  if (unused === 0) return state;
  const level = bucketLevel(state, limits, now);
  const ticks = Math.min(limits.burst * TICKS_PER_TOKEN, level + unused * TICKS_PER_TOKEN);
  return { ticks, at: Math.max(now, state?.at ?? now) };
}

function assertTokens(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0)
    throw new RangeError(`lease ${what} must be a whole number, at least 0, got ${n}`);
}
