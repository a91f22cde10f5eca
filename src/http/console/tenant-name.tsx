// Naming tenants on pages that list other things (invoices, webhook deliveries): the names of
// the tenants a page mentions, read in one query, and the link the pages show.

import { inArray } from "drizzle-orm";
import type { Database } from "../../db/database";
import { tenants } from "../../db/schema";

/** Each tenant's name by id; a tenant that no longer exists is absent. */
export async function tenantNames(db: Database, ids: readonly string[]): Promise<Map<string, string>> {
  const wanted = [...new Set(ids)];
  if (wanted.length === 0) return new Map();
  const rows = await db.select({ id: tenants.id, name: tenants.name }).from(tenants).where(inArray(tenants.id, wanted));
  return new Map(rows.map((r) => [r.id, r.name]));
}

/** The tenant's name linking to its page, with its id beside it. */
export function TenantLink(props: { id: string; names: Map<string, string> }) {
  const name = props.names.get(props.id);
  return (
    <>
      <a href={`/admin/ui/tenants/${props.id}`}>{name ?? "(deleted)"}</a> <code>{props.id}</code>
    </>
  );
}
