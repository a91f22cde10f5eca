// The quota of the gateway benches' tenants, with no imports: the fixture Workers bundle it.

// Far above what a bench can reach, so every call is admitted and the limiter does its full
// work: 10^8 units a minute, a burst of 10^6, no daily quota.
export const QUOTA = {
  ratePerMinute: 100_000_000,
  burst: 1_000_000,
  dailyUnits: null,
  timeZone: "UTC",
  shadow: false,
  routes: {},
};
