// The tenant page's per-route limits (the quota's `routes` map): each route's own buckets, cap
// and cost in a table with a Remove button, and a form that sets one route's entry (replacing
// what that route had). A field left empty is the tenant's number, as in the API.

import { routeKeySchema } from "../../config";
import type { RouteOverride } from "../../core/limits";
import { RouteOverrideSchema } from "../schemas";
import { type ConsoleForm, describeIssues, parseLimits, textField } from "./form";
import { Count } from "./format";
import { LIMIT_LABELS, LimitInputs } from "./limit-inputs";
import { Csrf } from "./page";
import { Table } from "./table";

const FIELDS = ["ratePerMinute", "burst", "requestsPerMinute", "requestBurst", "maxConcurrent", "cost"] as const;
type Field = (typeof FIELDS)[number];

/** The form's fields as typed. */
export type RouteFormValues = Record<Field | "route", string>;

const EMPTY = Object.fromEntries(["route", ...FIELDS].map((f) => [f, ""])) as RouteFormValues;

export function sentRouteValues(form: ConsoleForm): RouteFormValues {
  return Object.fromEntries(["route", ...FIELDS].map((f) => [f, textField(form, f) ?? ""])) as RouteFormValues;
}

/** The route and its entry to store, or what is wrong with the values. */
export function parseRouteValues(values: RouteFormValues): { route: string; entry: RouteOverride } | { error: string } {
  const route = routeKeySchema.safeParse(values.route.trim());
  const given = FIELDS.filter((f) => values[f].trim() !== "");
  const { limits, issues } = parseLimits(values, given);
  if (!route.success) issues.unshift(`route: ${route.error.issues[0]?.message ?? "not a route key"}`);
  if (given.length === 0) issues.push("give at least one limit or a cost; Remove takes a route's entry away");
  if (issues.length > 0) return { error: issues.join("; ") };
  const parsed = RouteOverrideSchema.safeParse(limits);
  if (!parsed.success) return { error: describeIssues(parsed.error.issues) };
  return { route: route.data as string, entry: parsed.data };
}

const shown = (v: number | null | undefined) =>
  typeof v === "number" ? <Count n={v} /> : <span class="hint">tenant's</span>;

export function RouteLimitsSection(props: {
  tenantId: string;
  routes: Record<string, RouteOverride>;
  csrf: string;
  values?: RouteFormValues;
}) {
  const base = `/admin/ui/tenants/${props.tenantId}/routes`;
  const v = props.values ?? EMPTY;
  const entries = Object.entries(props.routes).sort(([a], [b]) => a.localeCompare(b));
  return (
    <div id="routes">
      <p class="hint">
        A route's own limits replace the tenant's on that route only (a route is what ROUTES names a path); empty fields
        keep the tenant's.
      </p>
      {entries.length === 0 ? (
        <p>No route has limits of its own.</p>
      ) : (
        <Table
          id="route-limits"
          label="Per-route limits"
          rows={entries}
          rowAttributes={([route]) => ({ "data-route": route })}
          columns={[
            { header: "Route", cell: ([route]) => <code>{route}</code> },
            ...FIELDS.map((f) => ({
              header: LIMIT_LABELS[f],
              class: "num",
              cell: ([, e]: [string, RouteOverride]) => shown(e[f]),
            })),
            {
              cell: ([route]) => (
                <form method="post" action={`${base}/remove`} class="inline remove-route">
                  <Csrf token={props.csrf} />
                  <input type="hidden" name="route" value={route} />
                  <button type="submit" class="danger" aria-label={`Remove the limits of route ${route}`}>
                    Remove
                  </button>
                </form>
              ),
            },
          ]}
        />
      )}
      <form method="post" action={base} class="stack" id="route-form">
        <Csrf token={props.csrf} />
        <fieldset>
          <legend>Set a route's limits (replaces what that route had)</legend>
          <label>
            Route <input name="route" value={v.route} required placeholder="chat" autocomplete="off" />
          </label>
          <LimitInputs fields={FIELDS} labels={LIMIT_LABELS} values={v} />
        </fieldset>
        <button type="submit">Save route limits</button>
      </form>
    </div>
  );
}
