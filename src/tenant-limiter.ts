// The TenantLimiter Durable Object class the Worker exports (wrangler's class_name): the
// durable/ object with its tenants loaded from Postgres over Neon, each load bounded by
// LIMITER_LOAD_TIMEOUT_MS. The connection is closed in waitUntil, so that an answer does
// not wait for it, and closed when a load times out, so that a hung query holds no socket.

import type { Config } from "./config";
import type { LoadTenantSnapshot } from "./core/limiter-store";
import { neonSnapshots } from "./db/snapshot-source";
import { TenantLimiterObject } from "./durable/tenant-limiter";

export class TenantLimiter extends TenantLimiterObject {
  protected snapshotSource(config: Config): LoadTenantSnapshot | null {
    return neonSnapshots(config, {
      release: (closing) => this.ctx.waitUntil(closing),
      timeoutMs: config.LIMITER_LOAD_TIMEOUT_MS,
    });
  }
}
