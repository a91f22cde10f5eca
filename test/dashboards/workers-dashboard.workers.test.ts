// The Workers dashboard's PromQL against a real scrape of the Worker, in workerd: every
// expression parses with the Prometheus grammar, and every metric, label value and grouping
// label it names is in the Worker's GET /metrics after known state in a database of this
// file's own (usage today on two routes and models, an invoice run, late usage, a pending
// webhook delivery). The self-hosted series are checked by fleet-dashboard.node.test.ts.

import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterAll, beforeAll, expect, it } from "vitest";
import workersDashboard from "../../dashboards/aegis-workers.json";
import { nextDayStart } from "../../src/core/calendar";
import { newEventId, type UsageEvent } from "../../src/core/usage-event";
import { webhookDeliveries } from "../../src/db/schema";
import worker from "../../src/index";
import { ingestUsage } from "../../src/metering/ingest";
import { type Dashboard, expandPromQL, targetsOf, where } from "../support/dashboard-queries";
import { type ExposedSeries, exposedSeries, missingFromScrape } from "../support/exposed-series";
import { promqlReferences } from "../support/promql-references";
import { BASE } from "../support/workers/helpers";
import { type PrivateDatabase, privateDatabase } from "../support/workers/private-database";

const METRICS_TOKEN = "metrics-workers-dashboard-token-0123";
let db: PrivateDatabase;
let series: ExposedSeries[];

const event = (tenantId: string, route: string, units: number, occurredAt: number, more: Partial<UsageEvent> = {}) =>
  ({ eventId: newEventId(), tenantId, route, units, occurredAt, ...more }) satisfies UsageEvent;

beforeAll(async () => {
  db = await privateDatabase("workers-dashboard");
  // An invoice run: January 2020 invoiced by the cron tick of 1 February.
  const a = await db.newTenant({ ratePerMinute: 60, burst: 60, dailyUnits: null });
  const b = await db.newTenant({ ratePerMinute: 60, burst: 60, dailyUnits: null });
  await db.withDb((d) => ingestUsage(d, [event(a.id, "chat", 1_000_000, Date.parse("2020-01-10T12:00:00Z"))]));
  await db.scheduled("2020-02-01T03:00:00Z");
  // Late usage (January's, after January was invoiced), and today's usage of both tenants on
  // two routes and models, every token dimension above 0.
  const now = Date.now();
  // "Today" is the render's UTC day: within a minute of midnight (AEGIS_TEST_NOW=midnight
  // runs start 30 s before one) the usage goes on the next day, which the render will see.
  const today = nextDayStart(now) - now < 60_000 ? nextDayStart(now) + 1_000 : now;
  await db.withDb((d) =>
    ingestUsage(d, [
      event(a.id, "chat", 7, Date.parse("2020-01-20T12:00:00Z"), { inputTokens: 5, outputTokens: 2 }),
      event(a.id, "chat", 30, today, { model: "gpt-4o", inputTokens: 20, outputTokens: 10, cachedInputTokens: 4 }),
      event(b.id, "msgs", 12, today, { model: "claude-sonnet-4-5", inputTokens: 8, outputTokens: 4 }),
    ]),
  );
  // A delivery still pending, a minute old.
  await db.withDb((d) =>
    d.insert(webhookDeliveries).values({
      id: "whd_dashboard_pending",
      eventType: "invoice.created",
      payload: {},
      status: "pending",
      createdAt: new Date(now - 60_000),
    }),
  );
  const ctx = createExecutionContext();
  const request = new Request(`${BASE}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  const res = await worker.fetch(
    request as Request<unknown, IncomingRequestCfProperties>,
    { ...db.env, METRICS_TOKEN },
    ctx,
  );
  const body = await res.text();
  await waitOnExecutionContext(ctx);
  expect(res.status).toBe(200);
  series = exposedSeries(body);
});

afterAll(async () => {
  await db?.drop();
});

const dashboard = workersDashboard as Dashboard;
const queries = targetsOf(dashboard).map(({ panel, target }) => ({
  at: where(panel, target),
  expr: target.expr ?? "",
}));

it("has a PromQL expression in every target", () => {
  expect(queries.length).toBeGreaterThan(0);
  expect(queries.filter((q) => q.expr.trim() === "").map((q) => q.at)).toEqual([]);
});

it.each(queries)("$at parses with the Prometheus grammar", ({ expr }) => {
  expect(promqlReferences(expandPromQL(expr)).errors).toEqual([]);
});

it.each(queries)("$at names only series the Worker exposes", ({ expr }) => {
  expect(promqlReferences(expandPromQL(expr)).selectors.length).toBeGreaterThan(0);
  expect(missingFromScrape(expandPromQL(expr), series)).toEqual([]);
});

it("shows every series the Worker's /metrics has", () => {
  const shown = new Set(
    queries.flatMap(({ expr }) => promqlReferences(expandPromQL(expr)).selectors.map((s) => s.name)),
  );
  const exposed = [...new Set(series.map((s) => s.name))].sort();
  expect(exposed).toContain("aegis_usage_today");
  expect(exposed).toContain("aegis_invoice_last_created_timestamp_seconds");
  expect(exposed.filter((name) => !shown.has(name))).toEqual([]);
});
