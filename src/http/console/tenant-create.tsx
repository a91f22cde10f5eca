// The tenant list's "New tenant" form, and reading what it sends. Limits left empty take the
// gateway's defaults (as `POST /admin/v1/tenants` without them does); the tenant's page then
// edits everything else. A refused form comes back with what was typed.

import type { z } from "@hono/zod-openapi";
import { CreateTenantSchema } from "../schemas";
import { type ConsoleForm, describeIssues, parseLimits, textField } from "./form";
import { Csrf } from "./page";

const LIMITS = ["ratePerMinute", "burst", "dailyUnits"] as const;

/** The form's fields as typed. */
export type NewTenantValues = Record<"name" | (typeof LIMITS)[number], string>;

export const EMPTY_NEW_TENANT: NewTenantValues = { name: "", ratePerMinute: "", burst: "", dailyUnits: "" };

export function sentNewTenantValues(form: ConsoleForm): NewTenantValues {
  return {
    name: textField(form, "name") ?? "",
    ratePerMinute: textField(form, "ratePerMinute") ?? "",
    burst: textField(form, "burst") ?? "",
    dailyUnits: textField(form, "dailyUnits") ?? "",
  };
}

/** The tenant to create, checked as the operator API checks one, or what is wrong. */
export function parseNewTenant(
  values: NewTenantValues,
): { tenant: z.output<typeof CreateTenantSchema> } | { error: string } {
  const name = values.name.trim();
  const given = LIMITS.filter((f) => values[f].trim() !== "");
  const { limits, issues } = parseLimits(values, given);
  if (name === "") issues.unshift("name: give the tenant a name");
  if (issues.length > 0) return { error: issues.join("; ") };
  const parsed = CreateTenantSchema.safeParse({ name, ...(given.length > 0 ? { quota: limits } : {}) });
  return parsed.success ? { tenant: parsed.data } : { error: describeIssues(parsed.error.issues) };
}

export function NewTenantForm(props: { values: NewTenantValues; csrf: string; error?: string }) {
  const v = props.values;
  return (
    <form method="post" action="/admin/ui/tenants" class="stack" id="new-tenant">
      <Csrf token={props.csrf} />
      {props.error ? (
        <p class="error" role="alert">
          {`Not created: ${props.error}`}
        </p>
      ) : null}
      <label>
        Name <input name="name" value={v.name} maxlength={200} required autocomplete="off" />
      </label>
      <label>
        Units per minute <input name="ratePerMinute" type="number" min="0" value={v.ratePerMinute} />
      </label>
      <label>
        Units burst <input name="burst" type="number" min="1" value={v.burst} />
      </label>
      <label>
        Daily units <input name="dailyUnits" type="number" min="0" value={v.dailyUnits} />
      </label>
      <p class="hint">Empty limits take the gateway's defaults; the tenant's page edits the rest.</p>
      <button type="submit">Create tenant</button>
    </form>
  );
}
