// The tenant page's quota editor: the form, and reading what it sends. The form shows the
// values it is given, so a form refused for a mistake comes back with what the operator typed
// rather than the stored quota, and only the mistake needs fixing.

import type { z } from "@hono/zod-openapi";
import type { QuotaView } from "../../db/tenants";
import { QuotaSchema } from "../schemas";
import { type ConsoleForm, describeIssues, limitText, parseLimits, textField } from "./form";
import { Csrf } from "./page";

const LIMIT_FIELDS = [
  "ratePerMinute",
  "burst",
  "requestsPerMinute",
  "requestBurst",
  "maxConcurrent",
  "dailyUnits",
] as const;
type LimitField = (typeof LIMIT_FIELDS)[number];

/** The form's fields as text, as they are shown in it. */
export type QuotaFormValues = Record<LimitField | "timeZone" | "alerts" | "unitPrice", string> & {
  shadow: boolean;
  leases: boolean;
};

/** The stored quota as the form shows it: a limit that is none is an empty field. */
export function quotaFormValues(q: QuotaView): QuotaFormValues {
  const limits = Object.fromEntries(LIMIT_FIELDS.map((f) => [f, limitText(q[f])])) as Record<LimitField, string>;
  return {
    ...limits,
    timeZone: q.timeZone,
    alerts: q.alerts.thresholds.join(", "),
    unitPrice: q.unitPrice ?? "",
    shadow: q.shadow,
    leases: q.leases,
  };
}

/**
 * What the form sent, as typed. A field it did not send keeps the stored value: a page opened
 * before the form had that field (or a script that knows only some) leaves it as it is, where
 * taking it for empty would remove that limit. The checkboxes are the exception: a browser
 * sends nothing for an unticked box, so one left out is off.
 */
export function sentQuotaValues(form: ConsoleForm, q: QuotaView): QuotaFormValues {
  const stored = quotaFormValues(q);
  const typed = (f: LimitField | "timeZone" | "alerts" | "unitPrice") => textField(form, f) ?? stored[f];
  const limits = Object.fromEntries(LIMIT_FIELDS.map((f) => [f, typed(f)])) as Record<LimitField, string>;
  return {
    ...limits,
    timeZone: typed("timeZone"),
    alerts: typed("alerts"),
    unitPrice: typed("unitPrice"),
    shadow: form.shadow === "1",
    leases: form.leases === "1",
  };
}

/** The quota to store, or what is wrong with the values. Routes are kept as they are. */
export function parseQuotaValues(
  values: QuotaFormValues,
  q: QuotaView,
): { quota: z.output<typeof QuotaSchema> } | { error: string } {
  const { limits, issues } = parseLimits(values, LIMIT_FIELDS);
  const alerts = values.alerts.trim() === "" ? [] : values.alerts.split(",").map((t) => Number(t.trim()));
  if (alerts.some((t) => Number.isNaN(t))) issues.push("alerts: fractions such as 0.8, 1, or empty for none");
  if (issues.length > 0) return { error: issues.join("; ") };
  // Thresholds shown from QUOTA_ALERT_THRESHOLDS and left as they were stay followed, not pinned.
  const inherited = q.alerts.inherited && values.alerts.trim() === quotaFormValues(q).alerts;
  const parsed = QuotaSchema.safeParse({
    ...(inherited ? {} : { alerts: { thresholds: alerts } }),
    ...limits,
    timeZone: values.timeZone.trim(),
    shadow: values.shadow,
    leases: values.leases,
    routes: q.routes,
    unitPrice: values.unitPrice.trim() === "" ? null : values.unitPrice.trim(),
  });
  return parsed.success ? { quota: parsed.data } : { error: describeIssues(parsed.error.issues) };
}

function LimitInput(props: { name: LimitField; label: string; min: 0 | 1; values: QuotaFormValues }) {
  return (
    <label>
      {props.label} <input name={props.name} type="number" min={String(props.min)} value={props.values[props.name]} />
    </label>
  );
}

export function QuotaForm(props: { tenantId: string; values: QuotaFormValues; currency: string; csrf: string }) {
  const v = props.values;
  return (
    <form method="post" action={`/admin/ui/tenants/${props.tenantId}/quota`} class="stack" id="quota">
      <Csrf token={props.csrf} />
      <fieldset>
        <legend>Units bucket, per route (units; tokens on token routes). Both empty: none</legend>
        <LimitInput name="ratePerMinute" label="Rate per minute" min={0} values={v} />
        <LimitInput name="burst" label="Burst" min={1} values={v} />
      </fieldset>
      <fieldset>
        <legend>Request bucket, per route (calls). Both empty: none</legend>
        <LimitInput name="requestsPerMinute" label="Requests per minute" min={0} values={v} />
        <LimitInput name="requestBurst" label="Request burst" min={1} values={v} />
      </fieldset>
      <p class="hint">A bucket with one of its two numbers uses it for both (a minute's worth).</p>
      <LimitInput name="maxConcurrent" label="Max concurrent calls (empty: no cap)" min={1} values={v} />
      <LimitInput name="dailyUnits" label="Daily units (empty: no limit)" min={0} values={v} />
      <label>
        Time zone <input name="timeZone" value={v.timeZone} required />
      </label>
      <label>
        Alert at (fractions of the daily units; empty: no alerts){" "}
        <input name="alerts" value={v.alerts} placeholder="0.8, 1" />
      </label>
      <label>
        {`Unit price (${props.currency} per unit; empty: BILLING_UNIT_COST)`}{" "}
        <input name="unitPrice" value={v.unitPrice} inputmode="decimal" placeholder="0.000002" autocomplete="off" />
      </label>
      <p class="hint">
        The tenant's price of last resort: units no price in the books covers cost this (docs/pricing.md).
      </p>
      <label class="check">
        <input name="shadow" type="checkbox" value="1" checked={v.shadow} /> Shadow mode (report, never block)
      </label>
      <label class="check">
        <input name="leases" type="checkbox" value="1" checked={v.leases} /> Lease mode (gateways admit calls from units
        leased from the limiter; off: exact mode)
      </label>
      <button type="submit">Save quota</button>
    </form>
  );
}
