// One tenant's page: its use over the last 30 days, its quota form and its keys, and the
// POSTs those forms send (save the quota, create a key, revoke a key).

import { type Context, Hono } from "hono";
import type { Child } from "hono/jsx";
import { DAY_MS, isoDay } from "../../core/calendar";
import { type KeyView, listKeys, type TenantView } from "../../db/tenants";
import { dailyUsage } from "../../metering/usage-query";
import type { GatewayEnv } from "../context";
import { QuotaSchema } from "../schemas";
import { tenantAdmin } from "../tenant-admin";
import { type DayPoint, UsageChart } from "./chart";
import { readForm } from "./form";
import { Layout } from "./layout";
import { ModelUsage } from "./model-usage";
import { Csrf, PAGE_HEADERS } from "./page";
import { Table } from "./table";

type KeyRow = KeyView;

function QuotaForm(props: { tenant: TenantView; csrf: string }) {
  const q = props.tenant.quota;
  return (
    <form method="post" action={`/admin/ui/tenants/${props.tenant.id}/quota`} class="stack" id="quota">
      <Csrf token={props.csrf} />
      <label>
        Rate per minute <input name="ratePerMinute" type="number" min="0" value={String(q.ratePerMinute)} required />
      </label>
      <label>
        Burst <input name="burst" type="number" min="1" value={String(q.burst)} required />
      </label>
      <label>
        Daily units (empty: no limit){" "}
        <input name="dailyUnits" type="number" min="0" value={q.dailyUnits === null ? "" : String(q.dailyUnits)} />
      </label>
      <label>
        Time zone <input name="timeZone" value={q.timeZone} required />
      </label>
      <label>
        <input name="shadow" type="checkbox" value="1" checked={q.shadow} /> Shadow mode (report, never block)
      </label>
      <button type="submit">Save quota</button>
    </form>
  );
}

function KeysSection(props: { tenantId: string; keys: KeyRow[]; csrf: string }) {
  const { tenantId: id, csrf } = props;
  return (
    <>
      <Table
        id="keys"
        rows={props.keys}
        rowAttributes={(k) => ({ "data-key": k.id })}
        columns={[
          { header: "Key", cell: (k) => <code>{k.prefix}…</code> },
          { header: "Name", cell: (k) => k.name ?? "" },
          { header: "Created", cell: (k) => k.createdAt },
          { header: "Revoked", cell: (k) => k.revokedAt ?? "" },
          {
            cell: (k) =>
              k.revokedAt ? null : (
                <form method="post" action={`/admin/ui/tenants/${id}/keys/${k.id}/revoke`} class="inline">
                  <Csrf token={csrf} />
                  <button type="submit">Revoke</button>
                </form>
              ),
          },
        ]}
      />
      <form method="post" action={`/admin/ui/tenants/${id}/keys`} class="stack" id="new-key">
        <Csrf token={csrf} />
        <label>
          New key's name <input name="name" maxlength={200} />
        </label>
        <button type="submit">Create key</button>
      </form>
    </>
  );
}

/** The tenant's page, with `extra` (a notice or an error) above it. */
async function tenantPage(c: Context<GatewayEnv>, id: string, extra?: Child) {
  const db = c.get("db");
  const tenant = await tenantAdmin(c).get(id);
  const now = Date.now();
  const from = isoDay(now - 29 * DAY_MS);
  const usage = await dailyUsage(db, id, from, isoDay(now + DAY_MS));
  const perDay = new Map<string, number>();
  for (const d of usage.days) perDay.set(d.day, (perDay.get(d.day) ?? 0) + d.units);
  const points: DayPoint[] = Array.from({ length: 30 }, (_, i) => {
    const day = isoDay(now - (29 - i) * DAY_MS);
    return { day, units: perDay.get(day) ?? 0 };
  });
  const keys = await listKeys(db, id);
  const csrf = c.get("csrf");
  return (
    <Layout title={tenant.name} csrf={csrf}>
      {extra}
      <p>
        <code>{tenant.id}</code> <span class={`badge ${tenant.status}`}>{tenant.status}</span>
      </p>
      <h2>Usage, last 30 days</h2>
      <UsageChart points={points} quota={tenant.quota.dailyUnits} />
      <h2>Tokens per model, last 30 days</h2>
      <ModelUsage usage={usage} />
      <h2>Quota</h2>
      <QuotaForm tenant={tenant} csrf={csrf} />
      <h2>Keys</h2>
      <KeysSection tenantId={id} keys={keys} csrf={csrf} />
    </Layout>
  );
}

export const tenantDetailRoutes = new Hono<GatewayEnv>();

tenantDetailRoutes.get("/tenants/:id", async (c) => c.html(await tenantPage(c, c.req.param("id")), 200, PAGE_HEADERS));

tenantDetailRoutes.post("/tenants/:id/quota", async (c) => {
  const id = c.req.param("id");
  const tenant = await tenantAdmin(c).get(id);
  const form = await readForm(c);
  const num = (v: unknown) => (typeof v === "string" && v.trim() !== "" ? Number(v) : undefined);
  const parsed = QuotaSchema.safeParse({
    ratePerMinute: num(form.ratePerMinute),
    burst: num(form.burst),
    dailyUnits: num(form.dailyUnits) ?? null,
    timeZone: typeof form.timeZone === "string" ? form.timeZone.trim() : undefined,
    shadow: form.shadow === "1",
    routes: tenant.quota.routes,
    unitPrice: tenant.quota.unitPrice,
  });
  if (!parsed.success) {
    const detail = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    return c.html(await tenantPage(c, id, <p class="error">{`Not saved: ${detail}`}</p>), 400, PAGE_HEADERS);
  }
  await tenantAdmin(c).setQuota(id, parsed.data);
  return c.redirect(`/admin/ui/tenants/${id}`, 303);
});

// The new key is shown once, in the tenant's page.
tenantDetailRoutes.post("/tenants/:id/keys", async (c) => {
  const id = c.req.param("id");
  const form = await readForm(c);
  const name = typeof form.name === "string" && form.name.trim() !== "" ? form.name.trim().slice(0, 200) : null;
  const { key } = await tenantAdmin(c).createKey(id, name);
  const shown = (
    <div class="notice" id="created-key">
      <p>The new key, shown this once. Store it now:</p>
      <code class="secret">{key}</code>
    </div>
  );
  return c.html(await tenantPage(c, id, shown), 201, PAGE_HEADERS);
});

tenantDetailRoutes.post("/tenants/:id/keys/:keyId/revoke", async (c) => {
  const { id, keyId } = c.req.param();
  await tenantAdmin(c).revokeKey(id, keyId);
  return c.redirect(`/admin/ui/tenants/${id}`, 303);
});
