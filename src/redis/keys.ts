// Redis key names. Every key of one tenant shares the `{tenantId}` hash tag, so Redis
// Cluster keeps them in one slot and the limiter script may touch them all.

export const DEFAULT_PREFIX = "aegis";
/** The consumer group that moves usage from the tenant streams into Postgres. */
export const INGEST_GROUP = "aegis-ingest";

export interface TenantKeys {
  /** The tenant's config, key hashes and counters: everything a check reads, in one hash. */
  tenant: string;
  res: string;
  resx: string;
  stream: string;
  /** Where a reported usage's idempotency key is remembered (by its event id). */
  idem(eventId: string): string;
}

export function tenantKeys(prefix: string, tenantId: string): TenantKeys {
  const t = `${prefix}:{${tenantId}}`;
  return {
    tenant: t,
    res: `${t}:res`,
    resx: `${t}:resx`,
    stream: `${t}:usage`,
    idem: (eventId) => `${t}:idem:${eventId}`,
  };
}

/** The set of tenants whose config was ever loaded, and so who may have a usage stream. */
export const registryKey = (prefix: string) => `${prefix}:tenants`;
/** Where malformed stream entries are kept for an operator to look at. */
export const deadLetterKey = (prefix: string) => `${prefix}:usage-dlq`;
