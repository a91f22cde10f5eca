// The tenant page's keys: each key with its own limits and a small form to set or clear them,
// revoke, and create. As with the quota, a refused limits form comes back with what was typed.

import type { KeyLimits } from "../../core/limits";
import type { KeyView } from "../../db/tenants";
import { KeyLimitsSchema } from "../schemas";
import { type ConsoleForm, describeIssues, limitText, parseLimits, textField } from "./form";
import { When } from "./format";
import { LimitInputs } from "./limit-inputs";
import { Csrf } from "./page";
import { Table } from "./table";

const KEY_LIMIT_FIELDS = ["ratePerMinute", "burst", "requestsPerMinute", "requestBurst"] as const;
type KeyLimitField = (typeof KEY_LIMIT_FIELDS)[number];

/** A key's limits form as text, as it is shown. */
export type KeyLimitValues = Record<KeyLimitField, string>;

/** The form a refused POST left, to show again in that key's row. */
export interface TypedKeyLimits {
  keyId: string;
  values: KeyLimitValues;
}

const storedValues = (limits: KeyLimits | null): KeyLimitValues =>
  Object.fromEntries(KEY_LIMIT_FIELDS.map((f) => [f, limitText(limits?.[f])])) as KeyLimitValues;

/** What the form sent, as typed; a field it did not send keeps the stored value (see sentQuotaValues). */
export function sentKeyLimitValues(form: ConsoleForm, limits: KeyLimits | null): KeyLimitValues {
  const stored = storedValues(limits);
  return Object.fromEntries(KEY_LIMIT_FIELDS.map((f) => [f, textField(form, f) ?? stored[f]])) as KeyLimitValues;
}

/** The limits to store (null: none left), or what is wrong with the values. */
export function parseKeyLimitValues(values: KeyLimitValues): { limits: KeyLimits | null } | { error: string } {
  const { limits, issues } = parseLimits(values, KEY_LIMIT_FIELDS);
  if (issues.length > 0) return { error: issues.join("; ") };
  const set = Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== null));
  const parsed = KeyLimitsSchema.safeParse(set);
  if (!parsed.success) return { error: describeIssues(parsed.error.issues) };
  // With every field empty the key has no buckets of its own: stored as none, as a clear is.
  return { limits: Object.keys(parsed.data).length > 0 ? parsed.data : null };
}

const LABELS: Record<KeyLimitField, string> = {
  ratePerMinute: "units/min",
  burst: "units burst",
  requestsPerMinute: "requests/min",
  requestBurst: "request burst",
};

/** "units/min 20000, requests/min 10", or "none". */
export function describeKeyLimits(limits: KeyLimits | null): string {
  const parts = KEY_LIMIT_FIELDS.flatMap((f) => (typeof limits?.[f] === "number" ? [`${LABELS[f]} ${limits[f]}`] : []));
  return parts.length > 0 ? parts.join(", ") : "none";
}

function KeyLimitsForm(props: {
  tenantId: string;
  keyId: string;
  values: KeyLimitValues;
  open: boolean;
  csrf: string;
}) {
  return (
    <details open={props.open}>
      <summary>Set limits</summary>
      <form
        method="post"
        action={`/admin/ui/tenants/${props.tenantId}/keys/${props.keyId}/limits`}
        class="stack key-limits"
      >
        <Csrf token={props.csrf} />
        <LimitInputs fields={KEY_LIMIT_FIELDS} labels={LABELS} values={props.values} />
        <button type="submit">Save limits</button>{" "}
        <button type="submit" name="clear" value="1">
          Clear limits
        </button>
      </form>
    </details>
  );
}

export function KeysSection(props: { tenantId: string; keys: KeyView[]; csrf: string; typed?: TypedKeyLimits }) {
  const { tenantId: id, csrf, typed } = props;
  return (
    <>
      <p class="hint">
        A key's own limits apply to each route apart, on top of the tenant's; empty fields are none, and a bucket with
        one of its two numbers uses it for both.
      </p>
      <Table
        id="keys"
        label="Keys"
        rows={props.keys}
        rowAttributes={(k) => ({ "data-key": k.id })}
        columns={[
          { header: "Key", cell: (k) => <code>{k.prefix}…</code> },
          { header: "Name", cell: (k) => k.name ?? "" },
          { header: "Created", cell: (k) => <When iso={k.createdAt} /> },
          { header: "Revoked", cell: (k) => <When iso={k.revokedAt} /> },
          {
            header: "Limits",
            cell: (k) => {
              const mine = typed?.keyId === k.id ? typed : undefined;
              return (
                <>
                  <span class="limits">{describeKeyLimits(k.limits)}</span>
                  {k.revokedAt ? null : (
                    <KeyLimitsForm
                      tenantId={id}
                      keyId={k.id}
                      values={mine?.values ?? storedValues(k.limits)}
                      open={mine !== undefined}
                      csrf={csrf}
                    />
                  )}
                </>
              );
            },
          },
          {
            cell: (k) =>
              k.revokedAt ? null : (
                <form method="post" action={`/admin/ui/tenants/${id}/keys/${k.id}/revoke`} class="inline revoke">
                  <Csrf token={csrf} />
                  <button type="submit" aria-label={`Revoke key ${k.prefix}…`}>
                    Revoke
                  </button>
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
