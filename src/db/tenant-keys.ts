// API keys in Postgres: created, given their own limits, revoked, listed. Each change bumps
// the tenant's config version in the same transaction (tenants.ts change()).

import { and, asc, eq, sql } from "drizzle-orm";
import type { KeyLimits, TenantLimits } from "../core/limits";
import type { Database } from "./database";
import { apiKeys } from "./schema";
import { change } from "./tenants";

export interface KeyView {
  id: string;
  prefix: string;
  name: string | null;
  /** The key's own limits, on top of the tenant's; null: none. */
  limits: KeyLimits | null;
  createdAt: string;
  revokedAt: string | null;
}

export function createKey(
  db: Database,
  tenantId: string,
  key: { id: string; prefix: string; keyHash: string; name: string | null; limits?: KeyLimits | null },
  defaults: TenantLimits,
) {
  return change(db, tenantId, defaults, async (tx) => {
    await tx.insert(apiKeys).values({ ...key, tenantId });
  });
}

/** Replaces a key's own limits (null: none). `key` is null when the tenant has no such key. */
export async function setKeyLimits(
  db: Database,
  tenantId: string,
  keyId: string,
  limits: KeyLimits | null,
  defaults: TenantLimits,
) {
  let key: KeyView | null = null;
  const result = await change(db, tenantId, defaults, async (tx) => {
    const rows = await tx
      .update(apiKeys)
      .set({ limits })
      .where(and(eq(apiKeys.tenantId, tenantId), eq(apiKeys.id, keyId)))
      .returning();
    key = rows[0] ? keyViewOf(rows[0]) : null;
  });
  return { result, key: key as KeyView | null };
}

/** Revokes a key. `found` is false when the tenant has no key with that id. */
export async function revokeKey(db: Database, tenantId: string, keyId: string, defaults: TenantLimits) {
  let found = false;
  const result = await change(db, tenantId, defaults, async (tx) => {
    const rows = await tx
      .update(apiKeys)
      .set({ revokedAt: sql`coalesce(${apiKeys.revokedAt}, now())` })
      .where(and(eq(apiKeys.tenantId, tenantId), eq(apiKeys.id, keyId)))
      .returning({ id: apiKeys.id });
    found = rows.length > 0;
  });
  return { result, found };
}

export async function listKeys(db: Database, tenantId: string): Promise<KeyView[]> {
  const rows = await db.select().from(apiKeys).where(eq(apiKeys.tenantId, tenantId)).orderBy(asc(apiKeys.createdAt));
  return rows.map(keyViewOf);
}

function keyViewOf(k: typeof apiKeys.$inferSelect): KeyView {
  return {
    id: k.id,
    prefix: k.prefix,
    name: k.name,
    limits: k.limits ?? null,
    createdAt: k.createdAt.toISOString(),
    revokedAt: k.revokedAt?.toISOString() ?? null,
  };
}
