// The daily quota: a counter of units per calendar day that resets at midnight.

import { dayOf, nextDayStart } from "./calendar";

export interface DailyLimits {
  /** Units allowed per day, or null for no daily limit (usage is still counted). */
  units: number | null;
  /** IANA time zone whose midnight resets the quota. */
  timeZone: string;
}

export interface DailyState {
  day: string;
  used: number;
  /** The highest quota alert threshold that fired on `day`, in basis points (quota-alerts.ts). */
  alerted?: number;
}

export interface DailyTake {
  ok: boolean;
  state: DailyState | undefined;
  used: number;
  remaining: number | null;
  retryAfterMs: number | null;
  resetMs: number;
}

/** Units used on the day `now` falls on. */
export function usedToday(state: DailyState | undefined, limits: DailyLimits, now: number): number {
  if (!state) return 0;
  // A state from a later day means the clock moved backwards: keep counting it, so a
  // clock step can never hand out a second day's allowance.
  return state.day >= dayOf(now, limits.timeZone) ? state.used : 0;
}

function report(used: number, limits: DailyLimits, now: number) {
  return {
    used,
    remaining: limits.units === null ? null : Math.max(0, limits.units - used),
    resetMs: nextDayStart(now, limits.timeZone) - now,
  };
}

/** Takes `cost` units from today's quota if they fit, else nothing. Cost 0 peeks. */
export function takeDaily(state: DailyState | undefined, limits: DailyLimits, cost: number, now: number): DailyTake {
  const used = usedToday(state, limits, now);
  if (cost === 0) return { ok: true, state, retryAfterMs: 0, ...report(used, limits, now) };
  if (limits.units === null || used + cost <= limits.units) {
    const next = { day: maxDay(state, limits, now), used: used + cost };
    return { ok: true, state: next, retryAfterMs: 0, ...report(next.used, limits, now) };
  }
  const r = report(used, limits, now);
  return { ok: false, state, retryAfterMs: cost > limits.units ? null : r.resetMs, ...r };
}

/** Adds `units` (possibly negative, for a refund) to today's count, whatever the limit. */
export function addDaily(state: DailyState | undefined, limits: DailyLimits, units: number, now: number): DailyState {
  const used = usedToday(state, limits, now);
  return { day: maxDay(state, limits, now), used: Math.max(0, used + units) };
}

/** Units and reset time, for reporting without taking. */
export function describeDaily(state: DailyState | undefined, limits: DailyLimits, now: number) {
  return report(usedToday(state, limits, now), limits, now);
}

function maxDay(state: DailyState | undefined, limits: DailyLimits, now: number): string {
  const today = dayOf(now, limits.timeZone);
  return state && state.day > today ? state.day : today;
}
