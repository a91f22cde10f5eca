// One tenant's page: its status, its use over the last 30 days, its quota form and per-route
// limits, its keys, its billing details and its own prices, and the POSTs of the quota,
// override and key forms (save the quota, create a key, set or clear a key's limits, revoke a
// key; the status and route forms post to tenant-limits.tsx, the billing and price forms to
// tenant-billing.tsx). A form refused for a mistake answers 400 with the page, the reason, and
// what was typed, and so does a quota the service refused or the limiter did not confirm
// (under that problem's status); one that worked redirects with a notice (flash.ts).

import { type Context, Hono } from "hono";
import type { Child } from "hono/jsx";
import { DAY_MS, isoDay } from "../../core/calendar";
import { listKeys } from "../../db/tenants";
import { dailyUsage } from "../../metering/usage-query";
import type { GatewayEnv } from "../context";
import { Problem } from "../problem";
import { keyNotFound, tenantAdmin } from "../tenant-admin";
import { BillingSection, type RefusedPaymentMethod } from "./billing-section";
import { type DayPoint, UsageChart } from "./chart";
import { doneRedirect } from "./flash";
import { readForm } from "./form";
import { KeysSection, parseKeyLimitValues, sentKeyLimitValues, type TypedKeyLimits } from "./keys-section";
import { frame, Layout } from "./layout";
import { ModelUsage } from "./model-usage";
import { type OverrideFormValues, OverrideSection, parseOverrideValues, sentOverrideValues } from "./override-section";
import { Csrf, PAGE_HEADERS } from "./page";
import { loadPrices, type RefusedPrices } from "./price-edit";
import { PricesSection } from "./prices-section";
import { problemMessage } from "./problem-page";
import { parseQuotaValues, QuotaForm, type QuotaFormValues, quotaFormValues, sentQuotaValues } from "./quota-form";
import { type RouteFormValues, RouteLimitsSection } from "./route-limits";

/** A refused form: the reason, shown above the page, and what was typed, shown in its form. */
export interface Refused {
  error: string;
  /** The change is stored all the same (the limiter has not confirmed it yet). */
  saved?: boolean;
  quota?: QuotaFormValues;
  override?: OverrideFormValues;
  route?: RouteFormValues;
  keyLimits?: TypedKeyLimits;
  paymentMethod?: RefusedPaymentMethod;
  /** Shown by the Prices form, which lists each problem with its place. */
  prices?: RefusedPrices;
}

/** The tenant's page, with `extra` (a notice) above it, or a refused form's error and values. */
export async function tenantPage(c: Context<GatewayEnv>, id: string, extra?: Child, refused?: Refused) {
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
  const prices = await loadPrices(c, id);
  const csrf = c.get("csrf");
  const suspended = tenant.status === "suspended";
  return (
    <Layout title={tenant.name} {...frame(c)}>
      {extra}
      {refused ? (
        <p class="error" role="alert">
          {refused.saved ? refused.error : `Not saved: ${refused.error}`}
        </p>
      ) : null}
      <form method="post" action={`/admin/ui/tenants/${id}/status`} class="row" id="status">
        <Csrf token={csrf} />
        <input type="hidden" name="status" value={suspended ? "active" : "suspended"} />
        <code>{tenant.id}</code> <span class={`badge ${tenant.status}`}>{tenant.status}</span>
        <button type="submit" class={suspended ? undefined : "danger"}>
          {suspended ? "Activate" : "Suspend"}
        </button>
      </form>
      <h2>Usage, last 30 days</h2>
      <UsageChart points={points} quota={tenant.quota.dailyUnits} />
      <h2>Tokens per model, last 30 days</h2>
      <ModelUsage usage={usage} />
      <h2>Quota</h2>
      <QuotaForm
        tenantId={id}
        values={refused?.quota ?? quotaFormValues(tenant.quota)}
        currency={c.get("config").BILLING_CURRENCY}
        csrf={csrf}
      />
      <h2>Per-route limits</h2>
      <RouteLimitsSection tenantId={id} routes={tenant.quota.routes} csrf={csrf} values={refused?.route} />
      <h2>Override</h2>
      <OverrideSection tenantId={id} override={tenant.override} csrf={csrf} values={refused?.override} />
      <h2>Keys</h2>
      <KeysSection tenantId={id} keys={keys} csrf={csrf} typed={refused?.keyLimits} />
      <h2>Billing</h2>
      <BillingSection
        tenantId={id}
        billingAccountId={tenant.billingAccountId}
        paymentMethodRef={tenant.paymentMethodRef}
        csrf={csrf}
        refused={refused?.paymentMethod}
      />
      <h2>Prices</h2>
      <p class="hint">
        {"This tenant's own prices. Each overrides the "}
        <a href="/admin/ui/prices">global book</a>
        {
          " dimension by dimension: a price for a model's output tokens replaces the global one for output tokens only, and the tenant still pays the global prices of the other dimensions."
        }
      </p>
      <PricesSection
        action={`/admin/ui/tenants/${id}/prices`}
        book={prices.book}
        warning={prices.warning}
        empty="No prices of its own: this tenant pays the global book."
        today={isoDay(now)}
        csrf={csrf}
        refused={refused?.prices}
      />
    </Layout>
  );
}

/**
 * Makes a change a form asked for; a Problem it throws (a 502 the limiter did not confirm, a
 * 4xx the service refused) answers with the tenant's page, the problem said, and the form with
 * what was typed, under the problem's status. Null when the change went through.
 */
export async function changeOrRefuse(
  c: Context<GatewayEnv>,
  id: string,
  change: () => Promise<unknown>,
  typed: Omit<Refused, "error">,
): Promise<Response | null> {
  try {
    await change();
    return null;
  } catch (err) {
    if (!(err instanceof Problem)) throw err;
    const { saved, text } = problemMessage(err);
    return c.html(await tenantPage(c, id, undefined, { ...typed, error: text, saved }), err.status, PAGE_HEADERS);
  }
}

export const tenantDetailRoutes = new Hono<GatewayEnv>();

tenantDetailRoutes.get("/tenants/:id", async (c) => c.html(await tenantPage(c, c.req.param("id")), 200, PAGE_HEADERS));

tenantDetailRoutes.post("/tenants/:id/quota", async (c) => {
  const id = c.req.param("id");
  const tenant = await tenantAdmin(c).get(id);
  const values = sentQuotaValues(await readForm(c), tenant.quota);
  const parsed = parseQuotaValues(values, tenant.quota);
  if ("error" in parsed) {
    return c.html(await tenantPage(c, id, undefined, { error: parsed.error, quota: values }), 400, PAGE_HEADERS);
  }
  const refused = await changeOrRefuse(c, id, () => tenantAdmin(c).setQuota(id, parsed.quota), { quota: values });
  if (refused) return refused;
  return doneRedirect(c, "quota-saved", `/admin/ui/tenants/${id}`);
});

tenantDetailRoutes.post("/tenants/:id/override", async (c) => {
  const id = c.req.param("id");
  const values = sentOverrideValues(await readForm(c));
  const parsed = parseOverrideValues(values, Date.now());
  if ("error" in parsed) {
    return c.html(await tenantPage(c, id, undefined, { error: parsed.error, override: values }), 400, PAGE_HEADERS);
  }
  await tenantAdmin(c).setOverride(id, parsed.override);
  return doneRedirect(c, "override-set", `/admin/ui/tenants/${id}`);
});

tenantDetailRoutes.post("/tenants/:id/override/end", async (c) => {
  const id = c.req.param("id");
  await tenantAdmin(c).setOverride(id, null);
  return doneRedirect(c, "override-ended", `/admin/ui/tenants/${id}`);
});

// One form per key: "Save limits" replaces the key's limits with the fields, "Clear limits"
// (clear=1) removes them.
tenantDetailRoutes.post("/tenants/:id/keys/:keyId/limits", async (c) => {
  const { id, keyId } = c.req.param();
  const key = (await tenantAdmin(c).listKeys(id)).find((k) => k.id === keyId);
  if (!key) throw keyNotFound(id, keyId);
  const form = await readForm(c);
  const values = sentKeyLimitValues(form, key.limits);
  const parsed = form.clear === "1" ? { limits: null } : parseKeyLimitValues(values);
  if ("error" in parsed) {
    const refused = { error: parsed.error, keyLimits: { keyId, values } };
    return c.html(await tenantPage(c, id, undefined, refused), 400, PAGE_HEADERS);
  }
  await tenantAdmin(c).setKeyLimits(id, keyId, parsed.limits);
  return doneRedirect(c, parsed.limits === null ? "key-limits-cleared" : "key-limits-saved", `/admin/ui/tenants/${id}`);
});

// The new key is shown once, in the tenant's page.
tenantDetailRoutes.post("/tenants/:id/keys", async (c) => {
  const id = c.req.param("id");
  const form = await readForm(c);
  const name = typeof form.name === "string" && form.name.trim() !== "" ? form.name.trim().slice(0, 200) : null;
  const { key } = await tenantAdmin(c).createKey(id, name);
  const shown = (
    <div class="notice" id="created-key" role="status">
      <p>The new key, shown this once. Store it now:</p>
      <code class="secret">{key}</code>
    </div>
  );
  return c.html(await tenantPage(c, id, shown), 201, PAGE_HEADERS);
});

tenantDetailRoutes.post("/tenants/:id/keys/:keyId/revoke", async (c) => {
  const { id, keyId } = c.req.param();
  await tenantAdmin(c).revokeKey(id, keyId);
  return doneRedirect(c, "key-revoked", `/admin/ui/tenants/${id}`);
});
