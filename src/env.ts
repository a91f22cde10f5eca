// The Worker's bindings. Every setting is a string var or secret; src/config.ts validates them.

import type { UsageMessage } from "./core/usage-event";
import type { TenantLimiter } from "./tenant-limiter";

export interface Env {
  TENANT_LIMITER: DurableObjectNamespace<TenantLimiter>;
  /** Usage events from the limiters' outboxes. */
  USAGE_QUEUE: Queue<UsageMessage>;
  /** Malformed usage messages, with the reason. */
  USAGE_DLQ: Queue<unknown>;
  /** One data point per call at the limiter (src/core/analytics-metrics.ts); optional, none written without it. */
  AEGIS_ANALYTICS?: AnalyticsEngineDataset;
  DATABASE_URL?: string;
  ADMIN_TOKEN?: string;
  UPSTREAM_URL?: string;
  DEFAULT_RATE_LIMIT_PER_MIN?: string;
  RATE_LIMIT_BURST?: string;
  DEFAULT_DAILY_QUOTA_UNITS?: string;
  DEFAULT_TIME_ZONE?: string;
  QUOTA_ALERT_THRESHOLDS?: string;
  ROUTES?: string;
  RATE_LIMIT_REDIS_URL?: string;
  CONSOLE_ORIGIN?: string;
  RATE_LIMIT_REDIS_CLUSTER?: string;
  TRUSTED_PROXIES?: string;
  KEY_SIGNING_SECRET?: string;
  UNSIGNED_KEYS?: string;
  LIMITER_FAILURE_MODE?: string;
  LIMITER_TIMEOUT_MS?: string;
  LIMITER_LOAD_TIMEOUT_MS?: string;
  LEGACY_RATELIMIT_HEADERS?: string;
  RESERVATION_TTL_SECONDS?: string;
  CONFIG_REFRESH_SECONDS?: string;
  NEON_WS_PROXY?: string;
  BILLING_UNIT_COST?: string;
  BILLING_CURRENCY?: string;
  BILLING_PERIOD?: string;
  BILLING_GRACE_HOURS?: string;
  BILLING_ZERO_INVOICES?: string;
  BILLING_WEBHOOK_URL?: string;
  BILLING_WEBHOOK_SECRET?: string;
  METRICS_TOKEN?: string;
}
