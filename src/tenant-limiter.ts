// The TenantLimiter Durable Object class the Worker exports (wrangler's class_name): the
// durable/ object with its tenants loaded from Postgres over Neon. The connection is closed
// in waitUntil, so that an answer does not wait for it.

import type { Config } from "./config";
import type { LoadTenantSnapshot } from "./core/limiter-store";
import { neonSnapshots } from "./db/snapshot-source";
import { TenantLimiterObject } from "./durable/tenant-limiter";

export class TenantLimiter extends TenantLimiterObject {
  protected snapshotSource(config: Config): LoadTenantSnapshot | null {
    return neonSnapshots(config, (closing) => this.ctx.waitUntil(closing));
  }
}
