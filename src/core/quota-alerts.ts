// Quota alerts: a `quota.threshold` event when a tenant's use of its daily quota crosses a
// configured fraction (default 0.8 and 1), once per tenant, day and threshold.
//
// Thresholds are kept as basis points (0.8 is 8000), so that "used has reached the mark" is
// an exact integer comparison, on every backend: the Redis script does the same arithmetic.
// The day's state remembers the highest threshold that fired, so a threshold never fires
// twice on one day, even when a refund takes the count back below it and a charge takes it
// over again; a threshold added below it later that day waits for the next day.

import type { DailyState } from "./daily-quota";
import { DAILY_POLICY, limitsAt, type TenantLimits } from "./limits";

/** The thresholds a tenant without its own gets, unless QUOTA_ALERT_THRESHOLDS says otherwise. */
export const DEFAULT_ALERT_THRESHOLDS = [0.8, 1];
/** Basis points in one: a threshold has at most 4 decimals. */
export const BASIS = 10_000;

export interface QuotaAlert {
  tenantId: string;
  /** The tenant's calendar day (YYYY-MM-DD in its time zone). */
  day: string;
  policy: typeof DAILY_POLICY;
  /** The fraction crossed, as configured: 0.8. */
  threshold: number;
  /** Units used that day when it was crossed. */
  used: number;
  /** The daily quota then. */
  limit: number;
  /** When it was crossed, ms since the epoch. */
  at: number;
}

/** A fraction as whole basis points; a threshold is validated to have at most 4 decimals. */
export const basisPoints = (threshold: number) => Math.round(threshold * BASIS);

/** The units at which `bp` basis points of `limit` is reached: ceil(bp × limit / 10,000), exactly. */
export function markOf(bp: number, limit: number): number {
  // Split so that no product leaves the exact integer range (limit < 10^13, bp <= 10^4).
  const q = Math.floor(limit / BASIS);
  const r = limit - q * BASIS;
  return bp * q + Math.ceil((bp * r) / BASIS);
}

/**
 * The day's state after a change from `before` to `after`, with the thresholds the change
 * crossed remembered, and the alerts to emit with it (in the same transaction).
 */
export function crossedThresholds(
  tenantId: string,
  before: DailyState | undefined,
  after: DailyState | undefined,
  limits: TenantLimits,
  now: number,
): { daily: DailyState | undefined; alerts: QuotaAlert[] } {
  if (!after) return { daily: after, alerts: [] };
  const fired = before && before.day === after.day ? (before.alerted ?? 0) : 0;
  const { dailyUnits: limit, alerts: config } = limitsAt(limits, now);
  const alerts: QuotaAlert[] = [];
  let highest = fired;
  if (limit !== null && limit > 0 && after.used > 0) {
    for (const threshold of [...(config?.thresholds ?? [])].sort((a, b) => a - b)) {
      const bp = basisPoints(threshold);
      if (bp <= highest || after.used < markOf(bp, limit)) continue;
      alerts.push({ tenantId, day: after.day, policy: DAILY_POLICY, threshold, used: after.used, limit, at: now });
      highest = bp;
    }
  }
  const daily = highest > 0 ? { ...after, alerted: highest } : after;
  return { daily, alerts };
}

/** crossedThresholds for a whole limiter state: the state to keep, and the alerts to emit with it. */
export function stateWithAlerts<S extends { daily: DailyState | undefined }>(
  tenantId: string,
  before: S,
  after: S,
  limits: TenantLimits,
  now: number,
): { state: S; alerts: QuotaAlert[] } {
  if (after.daily === before.daily) return { state: after, alerts: [] };
  const { daily, alerts } = crossedThresholds(tenantId, before.daily, after.daily, limits, now);
  return { state: daily === after.daily ? after : { ...after, daily }, alerts };
}

/**
 * The delivery id of an alert, also its `webhook-id`: the same for the same tenant, day,
 * policy and threshold, however often the alert is sent, so that it is stored once.
 */
export const alertDeliveryId = (a: QuotaAlert) =>
  `msg_qt_${a.tenantId}_${a.day}_${a.policy}_${basisPoints(a.threshold)}`;

/** The `quota.threshold` webhook event of an alert. */
export function alertWebhookEvent(a: QuotaAlert) {
  const { tenantId, day, policy, threshold, used, limit } = a;
  return {
    type: "quota.threshold" as const,
    payload: {
      type: "quota.threshold" as const,
      timestamp: new Date(a.at).toISOString(),
      data: { tenantId, day, policy, threshold, used, limit },
    },
  };
}
