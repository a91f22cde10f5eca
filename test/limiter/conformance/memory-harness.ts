// The conformance harness for the in-memory store. What it covers: the store itself. What
// it does not: Postgres and the operator API, which the memory store has none of. A Map
// stands in for Postgres, read by the store's loadSnapshot on a tenant it does not hold
// (which is how a tenant "in Postgres only" reaches it), and a change is made there and
// then pushed with store.apply, as the operator API's sync does (src/http/admin/sync.ts).

import type { TenantSnapshot } from "../../../src/core/limiter-store";
import type { TenantLimits } from "../../../src/core/limits";
import { type MemoryStore, memoryStore } from "../../../src/core/memory-store";
import type { QuotaAlert } from "../../../src/core/quota-alerts";
import type { UsageEvent } from "../../../src/core/usage-event";
import type { ConformanceHarness, ConformanceTenant } from "./limiter-conformance";
import { newKeyHash, newTestTenantId } from "./redis-harness";

export interface MemoryHarness extends ConformanceHarness {
  store: MemoryStore;
  /** What "Postgres" holds. */
  snapshots: Map<string, TenantSnapshot>;
  now: { ms: number };
}

export function memoryHarness(reservationTtlMs = 900_000): MemoryHarness {
  const snapshots = new Map<string, TenantSnapshot>();
  const now = { ms: Date.now() };
  const store = memoryStore({
    now: () => now.ms,
    reservationTtlMs,
    loadSnapshot: async (tenantId) => snapshots.get(tenantId) ?? null,
  });
  const seed = (limits: TenantLimits): TenantSnapshot => {
    const snapshot = {
      tenantId: newTestTenantId(),
      version: 1,
      status: "active" as const,
      limits,
      keyHashes: [newKeyHash()],
    };
    snapshots.set(snapshot.tenantId, snapshot);
    return snapshot;
  };
  // drainUsage() and drainAlerts() hand each item out once; the harness keeps them.
  const drained: UsageEvent[] = [];
  const alerted: QuotaAlert[] = [];
  const tenantOf = (s: TenantSnapshot): ConformanceTenant => ({ tenantId: s.tenantId, keyHash: s.keyHashes[0] ?? "" });
  const change = async (t: ConformanceTenant, edit: Partial<TenantSnapshot>) => {
    const s = snapshots.get(t.tenantId);
    if (!s) throw new Error(`no tenant ${t.tenantId}`);
    const next = { ...s, ...edit, version: s.version + 1 };
    snapshots.set(t.tenantId, next);
    await store.apply(next);
  };
  return {
    store,
    snapshots,
    now,
    reservationTtlMs,
    async createTenant(limits) {
      const snapshot = seed(limits);
      // In the operator API's order: the source of truth first, then the push.
      await store.apply(snapshot);
      return tenantOf(snapshot);
    },
    // One clock for the whole store, as in the Redis harness: a test sets it for its tenant.
    async setNow(_t, ms) {
      now.ms = ms;
    },
    async createColdTenant(limits) {
      return tenantOf(seed(limits));
    },
    revokeKey: (t) => change(t, { keyHashes: [] }),
    suspend: (t) => change(t, { status: "suspended" }),
    setOverride: async (t, quota, until) => {
      const s = snapshots.get(t.tenantId);
      if (!s) throw new Error(`no tenant ${t.tenantId}`);
      await change(t, { limits: { ...s.limits, override: { quota, until } } });
    },
    setKeyLimits: async (t, limits) => {
      const s = snapshots.get(t.tenantId);
      if (!s) throw new Error(`no tenant ${t.tenantId}`);
      await change(t, { limits: { ...s.limits, keys: { [t.keyHash]: limits } } });
    },
    async events(t) {
      drained.push(...store.drainUsage());
      return drained.filter((e) => e.tenantId === t.tenantId);
    },
    async alerts(t) {
      alerted.push(...store.drainAlerts());
      return alerted.filter((a) => a.tenantId === t.tenantId);
    },
    async sweep() {
      store.sweep();
    },
  };
}
