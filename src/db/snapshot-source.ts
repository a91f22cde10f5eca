// The tenant snapshot source over Postgres: the one place that turns "load tenant X" into a
// database read, for the Durable Object, the Worker's Redis path and the self-hosted server.

import type { Config } from "../config";
import type { LoadTenantSnapshot } from "../core/limiter-store";
import { defaultLimits } from "../defaults";
import type { Database, DatabaseHandle } from "./database";
import { openNeonDatabase } from "./neon";
import { loadTenantSnapshot } from "./tenants";

/** Loads from a database that outlives the load (a process's pool). */
export function pooledSnapshots(db: Database, config: Config): LoadTenantSnapshot {
  const defaults = defaultLimits(config);
  return (tenantId) => loadTenantSnapshot(db, tenantId, defaults);
}

/**
 * Opens a handle per load and releases it after. `release` takes the closing promise: a
 * Durable Object hands it to waitUntil, so that its answer does not wait for the close;
 * by default the load waits for it. A failed close is not the load's failure.
 */
export function perLoadSnapshots(
  open: () => DatabaseHandle,
  config: Config,
  release: (closing: Promise<void>) => void | Promise<void> = (closing) => closing,
): LoadTenantSnapshot {
  const defaults = defaultLimits(config);
  return async (tenantId) => {
    const handle = open();
    try {
      return await loadTenantSnapshot(handle.db, tenantId, defaults);
    } finally {
      await release(handle.close().catch(() => {}));
    }
  };
}

/**
 * The Workers source: a Neon connection per load. Null when DATABASE_URL is not set, so
 * that a limiter can say why it cannot load a tenant, and skip its background refresh.
 */
export function neonSnapshots(
  config: Config,
  release?: (closing: Promise<void>) => void | Promise<void>,
): LoadTenantSnapshot | null {
  const url = config.DATABASE_URL;
  if (!url) return null;
  return perLoadSnapshots(() => openNeonDatabase(url, config.NEON_WS_PROXY), config, release);
}
