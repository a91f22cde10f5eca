// Calls per minute by outcome, for the console's fleet page: a ring of the last 60 minutes
// counted in this process. Prometheus keeps the long history; this is what a page can show
// without one. The clock is passed in, so tests move time instead of waiting for it.

import { CALL_OUTCOMES, type CallOutcome, type GatewayMetrics } from "./gateway-metrics";

export const MINUTE_MS = 60_000;
/** Minutes kept: the current one and the 59 before it. */
export const RATE_MINUTES = 60;

/** One minute's calls: its start (epoch ms) and a count per outcome. */
export interface MinuteCalls {
  minute: number;
  counts: Record<CallOutcome, number>;
}

const zeroCounts = (): Record<CallOutcome, number> =>
  Object.fromEntries(CALL_OUTCOMES.map((o) => [o, 0])) as Record<CallOutcome, number>;

/**
 * Counts calls into per-minute buckets. Memory is fixed: slot `m % 60` holds minute `m`, and a
 * slot still stamped with an older minute is reset when its minute comes round again.
 *
 * @example
 * const rates = new CallRates(Date.now);
 * rates.record("admitted");
 * rates.lastHour(); // 60 minutes, oldest first, the current minute last
 */
export class CallRates {
  private readonly stamps = new Array<number>(RATE_MINUTES).fill(-1);
  private readonly slots = Array.from({ length: RATE_MINUTES }, zeroCounts);

  constructor(private readonly clock: () => number) {}

  record(outcome: CallOutcome): void {
    const minute = Math.floor(this.clock() / MINUTE_MS);
    const i = minute % RATE_MINUTES;
    if (this.stamps[i] !== minute) {
      this.stamps[i] = minute;
      this.slots[i] = zeroCounts();
    }
    (this.slots[i] as Record<CallOutcome, number>)[outcome]++;
  }

  /** The last 60 minutes, oldest first and the current minute last; a minute without calls counts zero. */
  lastHour(): MinuteCalls[] {
    const now = Math.floor(this.clock() / MINUTE_MS);
    return Array.from({ length: RATE_MINUTES }, (_, k) => {
      const minute = now - (RATE_MINUTES - 1) + k;
      const i = minute % RATE_MINUTES;
      const counts = this.stamps[i] === minute ? { ...(this.slots[i] as Record<CallOutcome, number>) } : zeroCounts();
      return { minute: minute * MINUTE_MS, counts };
    });
  }
}

/** `metrics`, with every call's outcome also counted in `rates`. */
export function countingCalls(metrics: GatewayMetrics, rates: CallRates): GatewayMetrics {
  return {
    call(route, outcome, policy, tenant) {
      rates.record(outcome);
      metrics.call(route, outcome, policy, tenant);
    },
    upstreamError: (route, kind) => metrics.upstreamError(route, kind),
    limiterDecision: (seconds) => metrics.limiterDecision(seconds),
    upstream: (route, seconds) => metrics.upstream(route, seconds),
    tokens: (route, model, dimension, count) => metrics.tokens(route, model, dimension, count),
    completed: (summary) => metrics.completed(summary),
  };
}
