// The limits a tenant gets when it is created without a quota.

import type { Config } from "./config";
import type { TenantLimits } from "./core/limits";

export function defaultLimits(config: Config): TenantLimits {
  return {
    ratePerMinute: config.DEFAULT_RATE_LIMIT_PER_MIN,
    burst: config.RATE_LIMIT_BURST,
    dailyUnits: config.DEFAULT_DAILY_QUOTA_UNITS,
    timeZone: config.DEFAULT_TIME_ZONE,
    shadow: false,
    leases: false,
    routes: {},
    alerts: { thresholds: config.QUOTA_ALERT_THRESHOLDS },
  };
}
