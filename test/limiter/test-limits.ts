// A quota for the limiter tests to vary: no refill, a burst of 100, 1,000 units a day, UTC.

import type { TenantLimits } from "../../src/core/limits";

export const limits = (l: Partial<TenantLimits> = {}): TenantLimits => ({
  ratePerMinute: 0,
  burst: 100,
  dailyUnits: 1_000,
  timeZone: "UTC",
  shadow: false,
  routes: {},
  ...l,
});
