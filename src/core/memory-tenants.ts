// The memory store's tenants: the snapshots it holds with their limiter state, cold loads
// through the embedder's loadSnapshot, and the tenant ids it knows not to exist.

import type { LimiterState } from "./limiter";
import { MISSING_TENANT_TTL_MS } from "./limiter-rules";
import type { TenantSnapshot } from "./limiter-store";
import { hashIn } from "./secrets";

/** Most unknown tenant ids remembered at once, so that made-up ids cannot grow the store. */
export const MISSING_TENANT_LIMIT = 10_000;

export interface MemoryTenant {
  snapshot: TenantSnapshot;
  state: LimiterState;
}

export type Authorized = { tenant: MemoryTenant } | { denied: { status: "unauthenticated" } | { status: "suspended" } };

const UNAUTHENTICATED = { denied: { status: "unauthenticated" } } as const;

export interface MemoryTenants {
  /** The tenant, if the store holds it; never loads. */
  held(tenantId: string): MemoryTenant | undefined;
  /** The tenant, loaded with loadSnapshot if the store does not hold it; null if there is none. */
  load(tenantId: string): Promise<MemoryTenant | null>;
  /** True when a load could find the tenant: there is a loader, and the id is not known to be missing. */
  loadable(tenantId: string): boolean;
  /** Takes a pushed snapshot, unless a newer version is held. The limiter state is kept. */
  adopt(snapshot: TenantSnapshot): void;
  /** Checks the key (in constant time) and the tenant's status. */
  authorize(tenant: MemoryTenant | null, keyHash: string | undefined): Authorized;
  /** Forgets unknown tenant ids remembered past their time. */
  sweep(at: number): void;
  sizes(): { tenants: number; missingTenants: number };
}

export function memoryTenants(
  now: () => number,
  loadSnapshot: ((tenantId: string) => Promise<TenantSnapshot | null>) | undefined,
): MemoryTenants {
  const tenants = new Map<string, MemoryTenant>();
  // In insertion order, which is expiry order (one TTL): a sweep stops at the first live one.
  const missing = new Map<string, number>();
  const loading = new Map<string, Promise<MemoryTenant | null>>();

  function adopt(snapshot: TenantSnapshot): void {
    missing.delete(snapshot.tenantId);
    const held = tenants.get(snapshot.tenantId);
    if (!held) tenants.set(snapshot.tenantId, { snapshot, state: { buckets: {}, daily: undefined } });
    else if (held.snapshot.version <= snapshot.version) held.snapshot = snapshot;
  }

  function rememberMissing(tenantId: string): void {
    missing.delete(tenantId);
    missing.set(tenantId, now() + MISSING_TENANT_TTL_MS);
    if (missing.size > MISSING_TENANT_LIMIT) missing.delete(missing.keys().next().value as string);
  }

  const loadable = (tenantId: string) => loadSnapshot !== undefined && (missing.get(tenantId) ?? 0) <= now();

  return {
    held: (tenantId) => tenants.get(tenantId),
    loadable,
    adopt,

    load(tenantId) {
      const held = tenants.get(tenantId);
      if (held) return Promise.resolve(held);
      if (!loadSnapshot || !loadable(tenantId)) return Promise.resolve(null);
      // One load however many calls are waiting for it.
      let pending = loading.get(tenantId);
      if (!pending) {
        pending = (async () => {
          const snapshot = await loadSnapshot(tenantId);
          if (snapshot && snapshot.tenantId !== tenantId) {
            throw new Error(`memoryStore: loadSnapshot(${tenantId}) returned tenant ${snapshot.tenantId}`);
          }
          if (snapshot) adopt(snapshot);
          // A push that arrived during the load is newer news than the loader's "no such tenant".
          else if (!tenants.has(tenantId)) rememberMissing(tenantId);
          return tenants.get(tenantId) ?? null;
        })().finally(() => loading.delete(tenantId));
        loading.set(tenantId, pending);
      }
      return pending;
    },

    authorize(tenant, keyHash) {
      if (!tenant) return UNAUTHENTICATED;
      if (keyHash !== undefined && !hashIn(keyHash, tenant.snapshot.keyHashes)) return UNAUTHENTICATED;
      if (tenant.snapshot.status !== "active") return { denied: { status: "suspended" } };
      return { tenant };
    },

    sweep(at) {
      for (const [tenantId, until] of missing) {
        if (until > at) break;
        missing.delete(tenantId);
      }
    },

    sizes: () => ({ tenants: tenants.size, missingTenants: missing.size }),
  };
}
