// Tenant, quota and key persistence. Every change bumps the tenant's config version in the
// same transaction and returns the fresh snapshot, which the caller pushes to the limiter.

import { and, asc, eq, gt, isNull, or, sql } from "drizzle-orm";
import type { TenantSnapshot, TenantStatus } from "../core/limiter-store";
import type { OverrideQuota, TenantLimits } from "../core/limits";
import { trimDecimal } from "../core/money";
import type { Database, Transaction } from "./database";
import { apiKeys, type TenantQuotaRow, type TenantRow, tenantQuotas, tenants } from "./schema";

// Keys live in tenant-keys.ts; the tenant service imports them from here with the rest.
export { createKey, type KeyView, listKeys, revokeKey, setKeyLimits } from "./tenant-keys";

/** A quota as given: a field left out takes the configured default; null means none. */
export type QuotaInput = Partial<Omit<BaseLimits, "alerts">> & {
  /** `inherited: true` (a view's quota written back): follow QUOTA_ALERT_THRESHOLDS, as when left out. */
  alerts?: { thresholds: number[]; inherited?: boolean };
  /** Price per unit for this tenant (decimal string); absent or null: BILLING_UNIT_COST. */
  unitPrice?: string | null;
};

/**
 * The quota as shown: every limit (null where there is none), and the tenant's own unit price.
 * `alerts.inherited`: the tenant follows QUOTA_ALERT_THRESHOLDS as configured at the time; the
 * quota written back as it was read keeps following them (QuotaInput).
 */
export type QuotaView = Omit<Required<BaseLimits>, "alerts"> & {
  alerts: { thresholds: number[]; inherited: boolean };
  unitPrice: string | null;
};

/** A tenant's own limits: without its keys' and without an override. */
type BaseLimits = Omit<TenantLimits, "keys" | "override">;

/** An override as shown: what it changes, and when it ends (ISO 8601). */
export interface OverrideView {
  quota: OverrideQuota;
  until: string;
}

export interface TenantView {
  id: string;
  name: string;
  status: TenantStatus;
  billingAccountId: string | null;
  /** A billing provider's customer or payment-method id; never card data. */
  paymentMethodRef: string | null;
  quota: QuotaView;
  /** The operator's temporary change to the quota, while it lasts; null when there is none. */
  override: OverrideView | null;
  createdAt: string;
  updatedAt: string;
}

function limitsOf(q: TenantQuotaRow | null | undefined, defaults: TenantLimits): Required<BaseLimits> {
  if (!q) {
    const { keys: _k, override: _o, ...base } = defaults;
    return {
      requestsPerMinute: null,
      requestBurst: null,
      maxConcurrent: null,
      alerts: { thresholds: [] },
      leases: false,
      ...base,
    };
  }
  return {
    ratePerMinute: q.ratePerMinute,
    burst: q.burst,
    requestsPerMinute: q.requestsPerMinute,
    requestBurst: q.requestBurst,
    maxConcurrent: q.maxConcurrent,
    alerts: { thresholds: q.alertThresholds ?? defaults.alerts?.thresholds ?? [] },
    dailyUnits: q.dailyUnits,
    timeZone: q.timeZone,
    shadow: q.shadow,
    leases: q.leases,
    routes: q.routes,
  };
}

/** The override while it lasts; one whose time has passed is as good as none. */
function overrideOf(q: TenantQuotaRow | null | undefined, now: number): OverrideView | null {
  if (!q?.override || !q.overrideUntil || q.overrideUntil.getTime() <= now) return null;
  return { quota: q.override, until: q.overrideUntil.toISOString() };
}

function viewOf(t: TenantRow, q: TenantQuotaRow | null | undefined, defaults: TenantLimits): TenantView {
  const limits = limitsOf(q, defaults);
  return {
    id: t.id,
    name: t.name,
    status: t.status,
    billingAccountId: t.billingAccountId,
    paymentMethodRef: t.paymentMethodRef,
    quota: {
      ...limits,
      alerts: { ...limits.alerts, inherited: !q || q.alertThresholds === null },
      unitPrice: q?.unitPrice ? trimDecimal(q.unitPrice) : null,
    },
    override: overrideOf(q, Date.now()),
    createdAt: t.createdAt.toISOString(),
    updatedAt: t.updatedAt.toISOString(),
  };
}

async function readSnapshot(db: Database | Transaction, tenantId: string, defaults: TenantLimits) {
  const [row] = await db
    .select()
    .from(tenants)
    .leftJoin(tenantQuotas, eq(tenantQuotas.tenantId, tenants.id))
    .where(eq(tenants.id, tenantId));
  if (!row) return null;
  const keys = await db
    .select({ keyHash: apiKeys.keyHash, limits: apiKeys.limits })
    .from(apiKeys)
    .where(and(eq(apiKeys.tenantId, tenantId), isNull(apiKeys.revokedAt)));
  // The limiter needs the limits of the keys that have their own; the tenant's view does not show them.
  const keyLimits = Object.fromEntries(keys.flatMap((k) => (k.limits ? [[k.keyHash, k.limits]] : [])));
  const override = overrideOf(row.tenant_quotas, Date.now());
  // Exact mode leaves `leases` out rather than false: a tenant that never opted in keeps the
  // limits it had before the column, key for key, so their JSON (the Redis config's 'h' hash,
  // a Durable Object's stored snapshot) is unchanged and no limiter sees a change that isn't one.
  const { leases, ...rest } = limitsOf(row.tenant_quotas, defaults);
  const limits: TenantLimits = {
    ...rest,
    ...(leases ? { leases: true } : {}),
    ...(override ? { override: { quota: override.quota, until: Date.parse(override.until) } } : {}),
  };
  const snapshot: TenantSnapshot = {
    tenantId,
    version: row.tenants.configVersion,
    status: row.tenants.status,
    limits: Object.keys(keyLimits).length > 0 ? { ...limits, keys: keyLimits } : limits,
    keyHashes: keys.map((k) => k.keyHash),
  };
  return { snapshot, view: viewOf(row.tenants, row.tenant_quotas, defaults) };
}

/** The tenant's limiter snapshot, or null if there is no such tenant. */
export async function loadTenantSnapshot(db: Database, tenantId: string, defaults: TenantLimits) {
  return (await readSnapshot(db, tenantId, defaults))?.snapshot ?? null;
}

/** The snapshot and view after a change, read inside the change's transaction. */
export type Changed = { snapshot: TenantSnapshot; view: TenantView };

async function bumpVersion(tx: Transaction, tenantId: string): Promise<boolean> {
  const rows = await tx
    .update(tenants)
    .set({ configVersion: sql`${tenants.configVersion} + 1`, updatedAt: sql`now()` })
    .where(eq(tenants.id, tenantId))
    .returning({ id: tenants.id });
  return rows.length > 0;
}

async function changed(tx: Transaction, tenantId: string, defaults: TenantLimits): Promise<Changed> {
  const read = await readSnapshot(tx, tenantId, defaults);
  if (!read) throw new Error(`tenant ${tenantId} vanished inside its own transaction`);
  return read;
}

export async function createTenant(
  db: Database,
  input: {
    id: string;
    name: string;
    status: TenantStatus;
    billingAccountId?: string | null;
    paymentMethodRef?: string | null;
    quota: QuotaInput;
  },
  defaults: TenantLimits,
): Promise<Changed> {
  return db.transaction(async (tx) => {
    await tx.insert(tenants).values({
      id: input.id,
      name: input.name,
      status: input.status,
      billingAccountId: input.billingAccountId ?? null,
      paymentMethodRef: input.paymentMethodRef ?? null,
    });
    await tx.insert(tenantQuotas).values({ tenantId: input.id, ...quotaColumns(input.quota, defaults) });
    return changed(tx, input.id, defaults);
  });
}

function quotaColumns(q: QuotaInput, defaults: TenantLimits) {
  const or = <T>(value: T | undefined, fallback: T) => (value === undefined ? fallback : value);
  return {
    ratePerMinute: or(q.ratePerMinute, defaults.ratePerMinute),
    burst: or(q.burst, defaults.burst),
    requestsPerMinute: or(q.requestsPerMinute, defaults.requestsPerMinute ?? null),
    requestBurst: or(q.requestBurst, defaults.requestBurst ?? null),
    maxConcurrent: or(q.maxConcurrent, defaults.maxConcurrent ?? null),
    // Left out, or sent back from a view that marked them inherited, the tenant follows
    // QUOTA_ALERT_THRESHOLDS as it is configured at the time.
    alertThresholds: q.alerts && !q.alerts.inherited ? q.alerts.thresholds : null,
    dailyUnits: or(q.dailyUnits, defaults.dailyUnits),
    timeZone: q.timeZone ?? defaults.timeZone,
    shadow: q.shadow ?? false,
    leases: q.leases ?? false,
    routes: q.routes ?? {},
    unitPrice: q.unitPrice ?? null,
  };
}

export async function getTenant(db: Database, id: string, defaults: TenantLimits): Promise<TenantView | null> {
  return (await readSnapshot(db, id, defaults))?.view ?? null;
}

/** A page of tenants in creation order, with the cursor of the next page. */
export async function listTenants(
  db: Database,
  page: { limit: number; after?: { createdAt: Date; id: string } },
  defaults: TenantLimits,
): Promise<{ tenants: TenantView[]; next: { createdAt: Date; id: string } | null }> {
  const a = page.after;
  const rows = await db
    .select()
    .from(tenants)
    .leftJoin(tenantQuotas, eq(tenantQuotas.tenantId, tenants.id))
    .where(
      a
        ? or(gt(tenants.createdAt, a.createdAt), and(eq(tenants.createdAt, a.createdAt), gt(tenants.id, a.id)))
        : undefined,
    )
    .orderBy(asc(tenants.createdAt), asc(tenants.id))
    .limit(page.limit + 1);
  const more = rows.length > page.limit;
  const pageRows = rows.slice(0, page.limit);
  const last = pageRows.at(-1)?.tenants;
  return {
    tenants: pageRows.map((r) => viewOf(r.tenants, r.tenant_quotas, defaults)),
    next: more && last ? { createdAt: last.createdAt, id: last.id } : null,
  };
}

/** Applies a change inside a transaction that bumps the version; null if no such tenant. */
export async function change(
  db: Database,
  tenantId: string,
  defaults: TenantLimits,
  apply: (tx: Transaction) => Promise<void>,
): Promise<Changed | null> {
  return db.transaction(async (tx) => {
    if (!(await bumpVersion(tx, tenantId))) return null;
    await apply(tx);
    return changed(tx, tenantId, defaults);
  });
}

export function updateTenant(
  db: Database,
  id: string,
  patch: { name?: string; status?: TenantStatus; billingAccountId?: string | null; paymentMethodRef?: string | null },
  defaults: TenantLimits,
) {
  return change(db, id, defaults, async (tx) => {
    if (Object.keys(patch).length > 0) await tx.update(tenants).set(patch).where(eq(tenants.id, id));
  });
}

export function setQuota(db: Database, id: string, quota: QuotaInput, defaults: TenantLimits) {
  const cols = quotaColumns(quota, defaults);
  return change(db, id, defaults, async (tx) => {
    await tx
      .insert(tenantQuotas)
      .values({ tenantId: id, ...cols })
      .onConflictDoUpdate({ target: tenantQuotas.tenantId, set: { ...cols, updatedAt: sql`now()` } });
  });
}

/** Sets (or, with null, ends) the tenant's override. Null when there is no such tenant. */
export function setOverride(
  db: Database,
  id: string,
  override: { quota: OverrideQuota; until: Date } | null,
  defaults: TenantLimits,
) {
  return change(db, id, defaults, async (tx) => {
    const cols = { override: override?.quota ?? null, overrideUntil: override?.until ?? null };
    await tx
      .insert(tenantQuotas)
      .values({ tenantId: id, ...quotaColumns({}, defaults), ...cols })
      .onConflictDoUpdate({ target: tenantQuotas.tenantId, set: { ...cols, updatedAt: sql`now()` } });
  });
}
