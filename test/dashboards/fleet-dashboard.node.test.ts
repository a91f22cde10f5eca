// The fleet dashboard's PromQL against a real scrape: every expression parses with the
// Prometheus grammar, and every metric, label value and grouping label it names is in the
// self-hosted gateway's GET /metrics after known traffic (admitted, limited and failed calls,
// stored usage, an invoice run).

import { afterAll, beforeAll, expect, it } from "vitest";
import { type ExposedSeries, exposedSeries, missingFromScrape } from "../support/exposed-series";
import { expandPromQL, loadDashboard, targetsOf, where } from "../support/grafana-dashboard";
import { newTenant } from "../support/metered-tenant";
import { CHAT_ROUTES, chatCall, scrapeText } from "../support/metrics-scrape";
import { promqlReferences } from "../support/promql-references";
import { startTestGateway, type TestGateway } from "../support/test-gateway";

const METRICS_TOKEN = "metrics-dashboards-token-0123456789";
let gateway: TestGateway;
let series: ExposedSeries[];

beforeAll(async () => {
  gateway = await startTestGateway("fleet_dashboard", { METRICS_TOKEN, ROUTES: CHAT_ROUTES });
  // Two calls admitted, then the request bucket is empty: two limited.
  const limited = await newTenant(gateway, "limited", {
    ratePerMinute: null,
    burst: null,
    requestsPerMinute: 0,
    requestBurst: 2,
    dailyUnits: null,
  });
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await chatCall(gateway, limited);
    statuses.push(res.status);
    await res.text();
  }
  expect(statuses).toEqual([200, 200, 429, 429]);
  // An upstream that answers 502: an upstream error.
  const failed = await chatCall(gateway, await newTenant(gateway, "failing"), 7, "&status=502");
  await failed.text();
  expect(failed.status).toBe(502);
  await gateway.server.flushUsage();
  await gateway.server.runBilling(Date.now());
  series = exposedSeries(await scrapeText(gateway, METRICS_TOKEN));
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
});

const fleet = loadDashboard("aegis-fleet.json");
const queries = targetsOf(fleet).map(({ panel, target }) => ({ at: where(panel, target), expr: target.expr ?? "" }));

it("has a PromQL expression in every target", () => {
  expect(queries.length).toBeGreaterThan(0);
  expect(queries.filter((q) => q.expr.trim() === "").map((q) => q.at)).toEqual([]);
});

it.each(queries)("$at parses with the Prometheus grammar", ({ expr }) => {
  expect(promqlReferences(expandPromQL(expr)).errors).toEqual([]);
});

it.each(queries)("$at names only series the gateway exposes", ({ expr }) => {
  expect(promqlReferences(expandPromQL(expr)).selectors.length).toBeGreaterThan(0);
  expect(missingFromScrape(expandPromQL(expr), series)).toEqual([]);
});

it("shows what issue 16 asks of the fleet: calls, limiter and upstream time, pipeline lag, webhook failures", () => {
  const names = new Set(
    queries.flatMap(({ expr }) => promqlReferences(expandPromQL(expr)).selectors.map((s) => s.name)),
  );
  for (const name of [
    "aegis_calls_total",
    "aegis_limiter_decision_seconds_bucket",
    "aegis_upstream_seconds_bucket",
    "aegis_upstream_errors_total",
    "aegis_tokens_total",
    "aegis_usage_consumer_lag_seconds",
    "aegis_usage_events_total",
    "aegis_usage_ingest_failures_total",
    "aegis_usage_dead_letters",
    "aegis_webhook_deliveries",
  ])
    expect(names.has(name), name).toBe(true);
});
