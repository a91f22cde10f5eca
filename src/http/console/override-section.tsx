// The tenant page's override: what it changes and when it ends, a button to end it now, and a
// form to set one for some hours. A field left empty in the form is not overridden (the quota's
// value stays); the API can also override a limit to none.

import type { OverrideQuota } from "../../core/limits";
import type { OverrideView } from "../../db/tenants";
import { OverrideQuotaSchema } from "../schemas";
import { type ConsoleForm, describeIssues, parseLimits, textField } from "./form";
import { When } from "./format";
import { LIMIT_LABELS, LimitInputs } from "./limit-inputs";
import { Csrf } from "./page";

const FIELDS = ["ratePerMinute", "burst", "requestsPerMinute", "requestBurst", "maxConcurrent", "dailyUnits"] as const;
type Field = (typeof FIELDS)[number];

/** The form's fields as typed. */
export type OverrideFormValues = Record<Field | "hours", string>;

const EMPTY: OverrideFormValues = {
  hours: "24",
  ...Object.fromEntries(FIELDS.map((f) => [f, ""])),
} as OverrideFormValues;

export function sentOverrideValues(form: ConsoleForm): OverrideFormValues {
  const out = { ...EMPTY };
  for (const f of [...FIELDS, "hours"] as const) out[f] = textField(form, f) ?? "";
  return out;
}

/** The override to store, or what is wrong with the values. */
export function parseOverrideValues(
  values: OverrideFormValues,
  now: number,
): { override: { quota: OverrideQuota; until: string } } | { error: string } {
  const hours = values.hours.trim();
  if (!/^\d{1,4}$/.test(hours) || Number(hours) < 1 || Number(hours) > 8_784) {
    return { error: "hours: a whole number of hours from 1 to 8784 (366 days)" };
  }
  const given = FIELDS.filter((f) => values[f].trim() !== "");
  const { limits, issues } = parseLimits(values, given);
  if (issues.length > 0) return { error: issues.join("; ") };
  const parsed = OverrideQuotaSchema.safeParse(limits);
  if (!parsed.success) return { error: describeIssues(parsed.error.issues) };
  return { override: { quota: parsed.data, until: new Date(now + Number(hours) * 3_600_000).toISOString() } };
}

const describe = (q: OverrideQuota) =>
  Object.entries(q)
    .map(([k, v]) => `${k} ${typeof v === "object" && v !== null ? JSON.stringify(v) : (v ?? "none")}`)
    .join(", ");

export function OverrideSection(props: {
  tenantId: string;
  override: OverrideView | null;
  csrf: string;
  values?: OverrideFormValues;
}) {
  const v = props.values ?? EMPTY;
  const base = `/admin/ui/tenants/${props.tenantId}/override`;
  return (
    <div class="stack" id="override">
      {props.override ? (
        <form method="post" action={`${base}/end`} class="notice">
          <Csrf token={props.csrf} />
          <p>
            {`In force until `}
            <When iso={props.override.until} />
            {`: ${describe(props.override.quota)}. Then the quota applies again by itself.`}
          </p>
          <button type="submit">End override now</button>
        </form>
      ) : (
        <p class="hint">No override: the quota above applies.</p>
      )}
      <form method="post" action={base} class="stack">
        <Csrf token={props.csrf} />
        <p class="hint">Raise or lower limits for a while. Empty fields keep the quota's value.</p>
        <LimitInputs fields={FIELDS} labels={LIMIT_LABELS} values={v} />
        <label>
          For hours <input name="hours" type="number" min="1" max="8784" value={v.hours} required />
        </label>
        <button type="submit">{props.override ? "Replace override" : "Set override"}</button>
      </form>
    </div>
  );
}
