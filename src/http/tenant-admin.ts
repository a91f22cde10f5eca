// The tenant admin service: every change to a tenant writes Postgres first, then pushes the
// tenant's snapshot to its limiter. The operator API and the console both go through it, so
// "which changes must the limiter confirm" and "what is a missing tenant" are said once.

import type { Context } from "hono";
import type { KeyLimits, OverrideQuota, TenantLimits } from "../core/limits";
import type { Database } from "../db/database";
import { addApiKey, addTenant, type NewTenant } from "../db/provision";
import {
  getTenant,
  type KeyView,
  listKeys,
  listTenants,
  type QuotaInput,
  revokeKey,
  setKeyLimits,
  setOverride,
  setQuota,
  type TenantView,
  updateTenant,
} from "../db/tenants";
import { defaultLimits } from "../defaults";
import { pushSnapshot } from "./admin/sync";
import type { GatewayEnv } from "./context";
import { Problem } from "./problem";
import { MAX_OVERRIDE_DAYS } from "./schemas";

export const tenantNotFound = (id: string) => new Problem(404, "tenant-not-found", `no tenant with id ${id}`);
export const keyNotFound = (tenantId: string, keyId: string) =>
  new Problem(404, "key-not-found", `tenant ${tenantId} has no key ${keyId}`);

/** The service for one request: its database, its limiter and the configured default limits. */
export class TenantAdmin {
  /** The limits of a tenant created without a quota, and of fields a stored quota leaves out. */
  readonly defaults: TenantLimits;
  private readonly db: Database;

  constructor(private readonly c: Context<GatewayEnv>) {
    this.db = c.get("db");
    this.defaults = defaultLimits(c.get("config"));
  }

  /** The tenant; a 404 tenant-not-found problem when there is none. */
  async get(id: string): Promise<TenantView> {
    const view = await getTenant(this.db, id, this.defaults);
    if (!view) throw tenantNotFound(id);
    return view;
  }

  list(page: Parameters<typeof listTenants>[1]) {
    return listTenants(this.db, page, this.defaults);
  }

  /** A creation is not confirmed by the limiter: it loads the new tenant when first asked. */
  async create(input: NewTenant): Promise<TenantView> {
    const { tenant, snapshot } = await addTenant(this.db, this.c.get("config"), input);
    await pushSnapshot(this.c, snapshot, false);
    return tenant;
  }

  /** A rename, suspension or reactivation; the limiter must confirm it (502 edge-sync-pending). */
  async update(id: string, patch: Parameters<typeof updateTenant>[2]): Promise<TenantView> {
    const changed = await updateTenant(this.db, id, patch, this.defaults);
    if (!changed) throw tenantNotFound(id);
    await pushSnapshot(this.c, changed.snapshot, true);
    return changed.view;
  }

  /** A new quota may take something away, so the limiter must confirm it. */
  async setQuota(id: string, quota: QuotaInput): Promise<TenantView> {
    const changed = await setQuota(this.db, id, quota, this.defaults);
    if (!changed) throw tenantNotFound(id);
    await pushSnapshot(this.c, changed.snapshot, true);
    return changed.view;
  }

  /**
   * A temporary change to the tenant's limits until `until`, or (null) the end of one now.
   * It may take something away, so the limiter must confirm it. The limiter reverts to the
   * quota at `until` by itself; nothing has to run then.
   */
  async setOverride(id: string, override: { quota: OverrideQuota; until: string } | null): Promise<TenantView> {
    let parsed: { quota: OverrideQuota; until: Date } | null = null;
    if (override) {
      const until = new Date(override.until);
      const ahead = until.getTime() - Date.now();
      if (!(ahead > 0 && ahead <= MAX_OVERRIDE_DAYS * 86_400_000)) {
        throw new Problem(
          400,
          "invalid-override",
          `until must be in the future and at most ${MAX_OVERRIDE_DAYS} days ahead, got ${override.until}`,
        );
      }
      parsed = { quota: override.quota, until };
    }
    const changed = await setOverride(this.db, id, parsed, this.defaults);
    if (!changed) throw tenantNotFound(id);
    await pushSnapshot(this.c, changed.snapshot, true);
    return changed.view;
  }

  /**
   * A new key, returned this once. The push is not confirmed: failing the request would
   * lose a key that is never shown again, and the limiter loads an unknown key's tenant.
   */
  async createKey(
    tenantId: string,
    name: string | null,
    limits: KeyLimits | null = null,
  ): Promise<{ key: string; view: KeyView }> {
    const added = await addApiKey(this.db, this.c.get("config"), tenantId, { name, limits });
    if (!added) throw tenantNotFound(tenantId);
    await pushSnapshot(this.c, added.snapshot, false);
    return { key: added.key, view: added.view };
  }

  /** New limits for a key may take something away: the limiter must confirm them. */
  async setKeyLimits(tenantId: string, keyId: string, limits: KeyLimits | null): Promise<KeyView> {
    const { result, key } = await setKeyLimits(this.db, tenantId, keyId, limits, this.defaults);
    if (!result) throw tenantNotFound(tenantId);
    if (!key) throw keyNotFound(tenantId, keyId);
    await pushSnapshot(this.c, result.snapshot, true);
    return key;
  }

  /** Revoking takes something away: the limiter must confirm it. Revoking twice succeeds. */
  async revokeKey(tenantId: string, keyId: string): Promise<void> {
    const { result, found } = await revokeKey(this.db, tenantId, keyId, this.defaults);
    if (!result) throw tenantNotFound(tenantId);
    if (!found) throw keyNotFound(tenantId, keyId);
    await pushSnapshot(this.c, result.snapshot, true);
  }

  async listKeys(tenantId: string): Promise<KeyView[]> {
    await this.get(tenantId);
    return listKeys(this.db, tenantId);
  }
}

/** The service for this request. */
export const tenantAdmin = (c: Context<GatewayEnv>) => new TenantAdmin(c);
