// Calendar days in a time zone: which day an instant falls on, and when the next one begins.

/** A UTC day, in ms. The one definition. */
export const DAY_MS = 86_400_000;

/** The UTC day (YYYY-MM-DD) that the instant `ms` falls in. */
export const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const formatters = new Map<string, Intl.DateTimeFormat>();
const resetCache = new Map<string, number>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    // en-CA formats as YYYY-MM-DD, which is also the order the day keys sort in.
    f = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when `timeZone` is an IANA zone name this runtime knows. */
export function isValidTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

/** The calendar day (`YYYY-MM-DD`) that `now` falls on in `timeZone`. */
let utcDay = { index: Number.NaN, day: "" };

export function dayOf(now: number, timeZone = "UTC"): string {
  if (timeZone === "UTC") {
    // Every limiter call asks; formatting a date each time showed up in profiles.
    const index = Math.floor(now / DAY_MS);
    if (index !== utcDay.index) utcDay = { index, day: new Date(now).toISOString().slice(0, 10) };
    return utcDay.day;
  }
  return formatter(timeZone).format(now);
}

/** The first instant (ms) after `now` that falls on a later day than `now` does. */
export function nextDayStart(now: number, timeZone = "UTC"): number {
  if (timeZone === "UTC") return (Math.floor(now / DAY_MS) + 1) * DAY_MS;
  const today = dayOf(now, timeZone);
  const cacheKey = `${timeZone} ${today}`;
  const cached = resetCache.get(cacheKey);
  if (cached !== undefined && cached > now) return cached;
  // Binary search for the boundary: exact to the millisecond across DST changes and
  // zones whose midnight does not exist, with no offset arithmetic to get wrong.
  let lo = now;
  let hi = now + 2 * DAY_MS;
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (dayOf(mid, timeZone) === today) lo = mid;
    else hi = mid;
  }
  if (resetCache.size > 1_000) resetCache.clear();
  resetCache.set(cacheKey, hi);
  return hi;
}
