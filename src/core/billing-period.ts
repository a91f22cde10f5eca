// Billing periods: UTC days or calendar months, written as [start, end) in YYYY-MM-DD.

import { DAY_MS, isoDay } from "./calendar";
export type BillingPeriodKind = "day" | "month";

export interface Period {
  /** First day, inclusive. */
  start: string;
  /** First day after the period: the end is exclusive. */
  end: string;
}

const startOfDay = (ms: number) => Math.floor(ms / DAY_MS) * DAY_MS;
const startOfMonth = (ms: number) => {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
};

/** Milliseconds of a YYYY-MM-DD day's start, or null if it is not a real day. */
export function dayStart(day: string): number | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return null;
  const ms = Date.parse(`${day}T00:00:00Z`);
  return Number.isNaN(ms) || isoDay(ms) !== day ? null : ms;
}

/** The period that contains the instant `at`. */
export function periodContaining(at: number, kind: BillingPeriodKind): Period {
  if (kind === "day") {
    const start = startOfDay(at);
    return { start: isoDay(start), end: isoDay(start + DAY_MS) };
  }
  const start = startOfMonth(at);
  const d = new Date(start);
  return { start: isoDay(start), end: isoDay(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)) };
}

/**
 * The latest period that is closed at `at`: it ended at least `graceHours` ago, so that
 * events which arrive late (queue retries, jobs reporting after the fact) land first.
 */
export function closedPeriod(at: number, kind: BillingPeriodKind, graceHours: number): Period {
  const current = periodContaining(at - graceHours * 3_600_000, kind);
  const currentStart = dayStart(current.start) as number;
  return periodContaining(currentStart - 1, kind);
}
