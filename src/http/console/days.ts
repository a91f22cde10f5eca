// UTC days for the console's usage views.

// A local copy: other modules keep their own DAY_MS too, to be unified in one place later.
export const DAY_MS = 86_400_000;

/** The UTC day (YYYY-MM-DD) that the instant `ms` falls in. */
export const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
