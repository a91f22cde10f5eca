// A time zone in which it is about noon right now, so that a test's daily quota cannot
// reset under it: the tenant's midnight is at least 11 hours away whenever the test runs.

/** `Etc/GMT±n` whose local hour is 12 at `now` (that zone family's sign is inverted). */
export function noonZone(now = Date.now()): string {
  const offset = 12 - new Date(now).getUTCHours();
  if (offset === 0) return "Etc/GMT";
  return offset > 0 ? `Etc/GMT-${offset}` : `Etc/GMT+${-offset}`;
}
