// The tenant snapshot source over Postgres: the one place that turns "load tenant X" into a
// database read, for the Durable Object, the Worker's Redis path and the self-hosted server.

import type { Config } from "../config";
import type { LoadTenantSnapshot } from "../core/limiter-store";
import { withTimeout } from "../core/timeout";
import { defaultLimits } from "../defaults";
import type { Database, DatabaseHandle } from "./database";
import { openNeonDatabase } from "./neon";
import { loadTenantSnapshot } from "./tenants";

/** Loads from a database that outlives the load (a process's pool). */
export function pooledSnapshots(db: Database, config: Config): LoadTenantSnapshot {
  const defaults = defaultLimits(config);
  return (tenantId) => loadTenantSnapshot(db, tenantId, defaults);
}

export interface PerLoadOptions {
  /**
   * Takes the closing promise: a Durable Object hands it to waitUntil, so that its answer
   * does not wait for the close. By default the load waits for it.
   */
  release?: (closing: Promise<void>) => void | Promise<void>;
  /** Bound on one load; the handle is closed when it runs out, not when the query ends. */
  timeoutMs?: number;
}

/** Opens a handle per load and releases it after. A failed close is not the load's failure. */
export function perLoadSnapshots(
  open: () => DatabaseHandle,
  config: Config,
  { release = (closing) => closing, timeoutMs }: PerLoadOptions = {},
): LoadTenantSnapshot {
  const defaults = defaultLimits(config);
  return async (tenantId) => {
    const handle = open();
    try {
      const load = loadTenantSnapshot(handle.db, tenantId, defaults);
      if (timeoutMs === undefined) return await load;
      return await withTimeout(
        load,
        timeoutMs,
        () => new Error(`loading tenant ${tenantId} from Postgres timed out after ${timeoutMs} ms`),
      );
    } finally {
      await release(handle.close().catch(() => {}));
    }
  };
}

/**
 * The Workers source: a Neon connection per load. Null when DATABASE_URL is not set, so
 * that a limiter can say why it cannot load a tenant, and skip its background refresh.
 */
export function neonSnapshots(config: Config, options: PerLoadOptions = {}): LoadTenantSnapshot | null {
  const url = config.DATABASE_URL;
  if (!url) return null;
  return perLoadSnapshots(() => openNeonDatabase(url, config.NEON_WS_PROXY), config, options);
}
