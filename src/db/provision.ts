// Creating a tenant and minting its API keys in Postgres: what the operator API does first
// (http/tenant-admin.ts), and what an embedding app's own code (a signup flow) calls through
// `aegis-edge/postgres`. Each returns the tenant's fresh snapshot for the caller to push to
// its limiter; a limiter that was not told loads the tenant from Postgres when first asked.

import type { Config } from "../config";
import { newApiKey } from "../core/api-keys";
import type { TenantSnapshot, TenantStatus } from "../core/limiter-store";
import type { KeyLimits } from "../core/limits";
import { log } from "../core/log";
import { newKeyId, newTenantId, sha256Hex } from "../core/secrets";
import { defaultLimits } from "../defaults";
import type { Database } from "./database";
import { createKey, createTenant, type KeyView, type QuotaInput, type TenantView } from "./tenants";

export interface NewTenant {
  name: string;
  status?: TenantStatus;
  billingAccountId?: string | null;
  paymentMethodRef?: string | null;
  /** Left out, every field takes the configured default (DEFAULT_RATE_LIMIT_PER_MIN, ...). */
  quota?: QuotaInput;
}

let warnedUnsigned = false;

/** A new key for the tenant, signed with the first KEY_SIGNING_SECRET; warns once if there is none. */
export async function mintKey(config: Config, tenantId: string): Promise<{ key: string; prefix: string }> {
  const secret = config.KEY_SIGNING_SECRET[0];
  if (!secret && !warnedUnsigned) {
    warnedUnsigned = true;
    log.warn("KEY_SIGNING_SECRET is not set: new API keys are unsigned, and made-up keys cost a lookup each");
  }
  return newApiKey(tenantId, secret);
}

/**
 * Stores a new tenant with a fresh id, as `POST /admin/tenants` does.
 *
 * @example
 * const { tenant, snapshot } = await addTenant(db, loadConfig(process.env), { name: "Acme", quota: { burst: 20 } });
 * await store.apply(snapshot);
 */
export async function addTenant(
  db: Database,
  config: Config,
  input: NewTenant,
): Promise<{ tenant: TenantView; snapshot: TenantSnapshot }> {
  const { snapshot, view } = await createTenant(
    db,
    {
      id: newTenantId(),
      name: input.name,
      status: input.status ?? "active",
      billingAccountId: input.billingAccountId,
      paymentMethodRef: input.paymentMethodRef,
      quota: input.quota ?? {},
    },
    defaultLimits(config),
  );
  return { tenant: view, snapshot };
}

/**
 * Mints and stores a new API key for the tenant, as `POST /admin/tenants/{id}/keys` does. The
 * key is returned this once (Postgres keeps its SHA-256); null when there is no such tenant.
 *
 * @example
 * const added = await addApiKey(db, config, tenant.id, { name: "default" });
 * if (added) await store.apply(added.snapshot);
 */
export async function addApiKey(
  db: Database,
  config: Config,
  tenantId: string,
  options: { name?: string | null; limits?: KeyLimits | null } = {},
): Promise<{ key: string; view: KeyView; snapshot: TenantSnapshot } | null> {
  const { key, prefix } = await mintKey(config, tenantId);
  const row = { id: newKeyId(), prefix, keyHash: await sha256Hex(key), name: options.name ?? null };
  const limits = options.limits ?? null;
  const changed = await createKey(db, tenantId, { ...row, limits }, defaultLimits(config));
  if (!changed) return null;
  return {
    key,
    view: { id: row.id, prefix, name: row.name, limits, createdAt: new Date().toISOString(), revokedAt: null },
    snapshot: changed.snapshot,
  };
}
