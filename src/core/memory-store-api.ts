// The memory store's options and interface (memory-store.ts implements them).

import type {
  LeaseReport,
  LeaseReportResult,
  LimiterStore,
  SettleItem,
  SettleResult,
  TenantSnapshot,
} from "./limiter-store";
import type { QuotaAlert } from "./quota-alerts";
import type { UsageEvent } from "./usage-event";
import type { UsageSink } from "./usage-outbox";

export interface MemoryStoreOptions {
  /** The limits' clock, in ms since the epoch. Default Date.now. (A check's `deadline` is on the real clock.) */
  now?: () => number;
  /** How long an unsettled reservation is held. Default DEFAULT_RESERVATION_TTL_MS. */
  reservationTtlMs?: number;
  /** The snapshot of a tenant the store does not hold, or null when there is no such tenant. */
  loadSnapshot?: (tenantId: string) => Promise<TenantSnapshot | null>;
  /** Takes every usage event as it is metered; one it fails is kept for drainUsage(). */
  onUsage?: UsageSink;
  /** Takes every quota alert (a tenant crossing a threshold of its daily quota); one it fails is kept for drainAlerts(). */
  onAlert?: (alert: QuotaAlert) => void | Promise<void>;
}

export interface MemoryStore extends LimiterStore {
  /** Loads a tenant the store does not hold with options.loadSnapshot (a no-op without it). */
  load(tenantId: string): Promise<void>;
  /** Always here: applied at once, as one transaction would. */
  reportLease(tenantId: string, report: LeaseReport): Promise<LeaseReportResult>;
  /** Always here: the batch is applied as the same settles in sequence, with no await between them. */
  settleMany(tenantId: string, items: SettleItem[]): Promise<SettleResult[]>;
  /** The usage events not delivered to onUsage, oldest first, forgotten as they are returned. Sweeps first. */
  drainUsage(): UsageEvent[];
  /** The quota alerts not delivered to onAlert, oldest first, forgotten as they are returned. */
  drainAlerts(): QuotaAlert[];
  /** Resolves once every onUsage and onAlert call made so far has finished (a failed one's item is then kept). */
  delivered(): Promise<void>;
  /** Sweeps now (see the module comment); returns how many expired reservations it recorded. */
  sweep(): number;
  /** What the store holds, to show that it stays bounded. */
  sizes(): {
    tenants: number;
    reservations: number;
    leases: number;
    idempotencyKeys: number;
    missingTenants: number;
    usage: number;
  };
}
