// The console's front page: every tenant with today's use against its daily quota, and the
// form that creates one (its POST too).

import { eq, sql } from "drizzle-orm";
import { type Context, Hono } from "hono";
import { isoDay } from "../../core/calendar";
import { usageDaily } from "../../db/schema";
import type { TenantView } from "../../db/tenants";
import type { GatewayEnv } from "../context";
import { tenantAdmin } from "../tenant-admin";
import { doneRedirect } from "./flash";
import { readForm } from "./form";
import { Count, count } from "./format";
import { frame, Layout } from "./layout";
import { PAGE_HEADERS } from "./page";
import { type Column, Table } from "./table";
import {
  EMPTY_NEW_TENANT,
  NewTenantForm,
  type NewTenantValues,
  parseNewTenant,
  sentNewTenantValues,
} from "./tenant-create";

type TenantUse = { tenant: TenantView; used: number };

/** One page of a listing: `next` (where the next page starts) is null after the last. */
export type Listed<T, C> = { tenants: T[]; next: C | null };

/** How many tenants the front page shows at most: beyond it the page would be too slow to read. */
export const LISTED_TENANTS = 2_000;

/**
 * The first `bound` tenants, read page by page through the cursor, and whether more exist.
 *
 * @example
 * const { tenants, more } = await tenantsUpTo((after) => admin.list({ limit: 500, after }), 2_000);
 */
export async function tenantsUpTo<T, C>(
  list: (cursor: C | undefined) => Promise<Listed<T, C>>,
  bound: number,
): Promise<{ tenants: T[]; more: boolean }> {
  const tenants: T[] = [];
  let cursor: C | undefined;
  // Bounded: each page adds at least one tenant or ends the loop.
  while (tenants.length < bound) {
    const page = await list(cursor);
    tenants.push(...page.tenants);
    if (page.next === null || page.tenants.length === 0) return { tenants, more: false };
    cursor = page.next;
  }
  return { tenants: tenants.slice(0, bound), more: true };
}

/** What the front page says of how many tenants it lists. */
export function listedSummary(shown: number, more: boolean): string {
  return more
    ? `The first ${count(shown)} tenants; more exist: \`aegis tenants list\` (page by page, with --cursor) or GET /admin/v1/tenants lists every one.`
    : `${count(shown)} in all.`;
}

const columns: Column<TenantUse>[] = [
  {
    header: "Tenant",
    cell: ({ tenant: t }) => (
      <>
        <a href={`/admin/ui/tenants/${t.id}`}>{t.name}</a> <code>{t.id}</code>
      </>
    ),
  },
  { header: "Status", cell: ({ tenant: t }) => <span class={`badge ${t.status}`}>{t.status}</span> },
  { header: "Today", class: "num use", cell: ({ used }) => <Count n={used} /> },
  {
    header: "Daily quota",
    cell: ({ tenant, used: u }) => {
      const q = tenant.quota.dailyUnits;
      if (q === null) return "no daily limit";
      const pct = q ? Math.min(100, Math.round((100 * u) / q)) : 0;
      return (
        <span>
          <meter
            min={0}
            max={q}
            low={0.8 * q}
            high={q - 0.5}
            optimum={0}
            value={Math.min(u, q)}
            aria-label={`${pct}% of the daily quota used`}
          />{" "}
          {`${pct}% of `}
          <Count n={q} />
        </span>
      );
    },
  },
  { cell: () => null },
];

/** How near its limit the row is, as the row's class: the style sheet bolds "warn" and "over". */
function level({ tenant, used: u }: TenantUse): string {
  const q = tenant.quota.dailyUnits;
  return q && u >= q ? "over" : q && u >= 0.8 * q ? "warn" : "ok";
}

export const tenantListRoutes = new Hono<GatewayEnv>();

async function tenantListPage(c: Context<GatewayEnv>, typed?: { values: NewTenantValues; error: string }) {
  const db = c.get("db");
  const { tenants, more } = await tenantsUpTo(
    (after: { createdAt: Date; id: string } | undefined) =>
      tenantAdmin(c).list({ limit: 500, ...(after === undefined ? {} : { after }) }),
    LISTED_TENANTS,
  );
  const today = isoDay(Date.now());
  const used = new Map<string, number>();
  const rows = await db
    .select({ tenantId: usageDaily.tenantId, units: sql<string>`sum(${usageDaily.units})` })
    .from(usageDaily)
    .where(eq(usageDaily.day, today))
    .groupBy(usageDaily.tenantId);
  for (const r of rows) used.set(r.tenantId, Number(r.units));
  // Who is nearest their limit comes first.
  const share = (t: TenantView) =>
    t.quota.dailyUnits ? (used.get(t.id) ?? 0) / t.quota.dailyUnits : (used.get(t.id) ?? 0) > 0 ? 0 : -1;
  const sorted = [...tenants].sort((a, b) => share(b) - share(a));
  return (
    <Layout title="Tenants" {...frame(c)}>
      <p id="tenant-count">{`Today's use (${today}, UTC) against each daily quota; the tenants nearest their limit first. ${listedSummary(tenants.length, more)}`}</p>
      {tenants.length === 0 ? (
        <p>No tenants yet: create the first one below.</p>
      ) : (
        <Table
          id="tenants"
          label="Tenants"
          columns={columns}
          rows={sorted.map((tenant) => ({ tenant, used: used.get(tenant.id) ?? 0 }))}
          rowAttributes={(row) => ({ class: level(row), "data-tenant": row.tenant.id })}
        />
      )}
      <h2>New tenant</h2>
      <NewTenantForm values={typed?.values ?? EMPTY_NEW_TENANT} csrf={c.get("csrf")} error={typed?.error} />
    </Layout>
  );
}

tenantListRoutes.get("/", async (c) => c.html(await tenantListPage(c), 200, PAGE_HEADERS));

tenantListRoutes.post("/tenants", async (c) => {
  const values = sentNewTenantValues(await readForm(c));
  const parsed = parseNewTenant(values);
  if ("error" in parsed) {
    return c.html(await tenantListPage(c, { values, error: parsed.error }), 400, PAGE_HEADERS);
  }
  const tenant = await tenantAdmin(c).create(parsed.tenant);
  return doneRedirect(c, "tenant-created", `/admin/ui/tenants/${tenant.id}`);
});
