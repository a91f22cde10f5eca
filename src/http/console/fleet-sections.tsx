// The fleet page's Postgres sections: today's top tenants by tokens, and the pipeline's
// health (usage ingest, late usage, dead letters, webhooks, billing).

import type { Child } from "hono/jsx";
import type { PipelineHealth, TenantTokens } from "./fleet-query";
import { Count, count, When } from "./format";
import { Table } from "./table";

/** A stored instant as the console shows it: ISO from the server, the reader's locale and zone in the browser. */
const at = (ms: number) => <When iso={new Date(ms).toISOString()} />;

/** How long ago `then` was, as an operator reads it. */
export function ago(now: number, then: number): string {
  const s = Math.max(0, Math.round((now - then) / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} days ago`;
}

export function TopTenants(props: { rows: readonly TenantTokens[] }) {
  if (props.rows.length === 0) return <p>No usage stored today yet.</p>;
  return (
    <Table
      id="top-tenants"
      label="Top tenants by tokens"
      rows={props.rows}
      rowAttributes={(r) => ({ "data-tenant": r.tenantId })}
      columns={[
        {
          header: "Tenant",
          cell: (r) => (
            <>
              <a href={`/admin/ui/tenants/${r.tenantId}`}>{r.name ?? "(deleted)"}</a> <code>{r.tenantId}</code>
            </>
          ),
        },
        { header: "Requests", class: "num", cell: (r) => <Count n={r.requests} /> },
        { header: "Input tokens", class: "num", cell: (r) => <Count n={r.inputTokens} /> },
        { header: "Cached input", class: "num", cell: (r) => <Count n={r.cachedInputTokens} /> },
        { header: "Output tokens", class: "num", cell: (r) => <Count n={r.outputTokens} /> },
        { header: "Units", class: "num", cell: (r) => <Count n={r.units} /> },
      ]}
    />
  );
}

interface Check {
  id: string;
  name: string;
  state: Child;
}

function checks(h: PipelineHealth, now: number): Check[] {
  const d = h.deliveries;
  return [
    {
      id: "usage-ingest",
      name: "Usage ingest",
      state: h.newestUsage
        ? [
            `newest stored call: ${ago(now, h.newestUsage.occurredAt)} (made `,
            at(h.newestUsage.occurredAt),
            ", stored ",
            at(h.newestUsage.receivedAt),
            ")",
          ]
        : "no usage stored yet",
    },
    {
      id: "late-usage",
      name: "Late usage",
      state:
        h.late.tenants === 0
          ? "none waiting"
          : `${count(h.late.units)} units of ${count(h.late.tenants)} tenants, for days from ${h.late.firstDay} on, wait for adjustment lines on the next invoices`,
    },
    {
      id: "dead-letters",
      name: "Dead letters",
      state:
        "not in Postgres: self-hosted, aegis_usage_dead_letters on /metrics counts the Redis dead-letter stream; on Workers, see the aegis-usage-dlq queue",
    },
    {
      id: "webhooks",
      name: "Webhooks",
      state:
        `${count(d.pending)} pending` +
        (h.oldestPending === null ? "" : ` (oldest written ${ago(now, h.oldestPending)})`) +
        `, ${count(d.failed)} failed, ${count(d.disabled)} disabled, ${count(d.delivered)} delivered`,
    },
    {
      id: "billing",
      name: "Billing",
      state:
        h.billedThrough === null
          ? "no invoice run has committed yet"
          : [
              `every day before ${h.billedThrough} is invoiced`,
              h.lastInvoiceAt === null ? ", no invoices written" : ["; newest invoice written ", at(h.lastInvoiceAt)],
            ],
    },
  ];
}

export function PipelineHealthTable(props: { health: PipelineHealth; now: number }) {
  return (
    <Table
      id="pipeline"
      label="Pipeline health"
      rows={checks(props.health, props.now)}
      rowAttributes={(c) => ({ "data-check": c.id })}
      columns={[
        { header: "Part", cell: (c) => (c.id === "webhooks" ? <a href="/admin/ui/deliveries">{c.name}</a> : c.name) },
        { header: "State", cell: (c) => c.state },
      ]}
    />
  );
}
