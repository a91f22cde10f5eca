// End to end, in CI only (`npm run test:prometheus`, after `npm test` in .ci/run): a real
// Prometheus (Debian's package) scrapes a self-hosted gateway before and after known
// traffic, and every PromQL query of the self-hosted Grafana dashboard returns data through
// Prometheus's HTTP API: the dashboard shows something on a real deployment, not only
// parses.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expandPromQL, loadDashboard, targetsOf, where } from "../support/grafana-dashboard";
import { newTenant, type Tenant } from "../support/metered-tenant";
import { THREE_CALLS } from "../support/metrics-scrape";
import { startTestGateway, type TestGateway } from "../support/test-gateway";
import { until } from "../support/wait";
import { type PrometheusServer, startPrometheus } from "./prometheus-server";

const METRICS_TOKEN = "metrics-e2e-token-0123456789";
const SELF_HOSTED_DASHBOARD = "aegis-fleet.json";
let gateway: TestGateway;
let prometheus: PrometheusServer;
let tenant: Tenant;

beforeAll(async () => {
  const routes = JSON.stringify([{ method: "POST", path: "/v1/chat/completions", route: "chat", cost: 1 }]);
  gateway = await startTestGateway("prometheus_e2e", { METRICS_TOKEN, ROUTES: routes });
  prometheus = await startPrometheus({ url: `${gateway.url}/metrics`, token: METRICS_TOKEN });
  // Each wave admits 3 calls (one of them to an upstream that fails), then the tenant's
  // request bucket, which never refills, refuses 2.
  tenant = await newTenant(gateway, "scraped", THREE_CALLS);
}, 60_000);

afterAll(async () => {
  await prometheus?.stop();
  await gateway?.stop();
});

async function wave(): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) {
    // The third call's upstream answers 502: an upstream error on an admitted call.
    const res = await fetch(`${gateway.url}/v1/chat/completions?tokens=7${i === 2 ? "&status=502" : ""}`, {
      method: "POST",
      headers: { authorization: `Bearer ${tenant.key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "e2e-model", messages: [] }),
    });
    await res.arrayBuffer();
    statuses.push(res.status);
  }
  await gateway.server.flushUsage();
  // An invoice run, as the scheduler's would be.
  await gateway.server.runBilling(Date.now());
  return statuses;
}

/** Waits until Prometheus has scraped `admitted` admitted calls in all. */
const scraped = (admitted: number) =>
  until(
    `Prometheus to scrape ${admitted} admitted calls`,
    async () => {
      const [sample] = await prometheus.query('sum(aegis_calls_total{outcome="admitted"})');
      return Number(sample?.value[1]) === admitted;
    },
    30_000,
  );

describe("Prometheus scraping the self-hosted gateway", () => {
  it("scrapes the target with the metrics token, and every query of the self-hosted dashboard returns data", async () => {
    // Its first scrape succeeds: the target answers Prometheus's bearer token.
    await until(
      "Prometheus's first scrape",
      async () => (await prometheus.query('up{job="aegis"}')).length > 0,
      30_000,
    );
    const [up] = await prometheus.query('up{job="aegis"}');
    expect(up?.value[1]).toBe("1");

    // Two waves a scrape apart, so that rates and quantiles over a window see an increase.
    expect(await wave()).toEqual([200, 200, 502, 429, 429]);
    await scraped(3);
    // The first tenant's bucket never refills: the second wave is another
    // tenant's, so that nothing waits for time to pass.
    tenant = await newTenant(gateway, "scraped-too", THREE_CALLS);
    expect(await wave()).toEqual([200, 200, 502, 429, 429]);
    await scraped(6);

    const [limited] = await prometheus.query('sum(aegis_calls_total{outcome="limited"})');
    expect(Number(limited?.value[1])).toBe(4);

    // The self-hosted gateway's dashboard only: aegis-workers.json reads the series a Worker's
    // /metrics renders from Postgres (aegis_usage_today, ...), which this gateway does not
    // serve; workers-dashboard.workers.test.ts checks that one against a Worker's scrape.
    const queries = targetsOf(loadDashboard(SELF_HOSTED_DASHBOARD)).flatMap(({ panel, target }) =>
      target.expr ? [{ name: where(panel, target), expr: expandPromQL(target.expr) }] : [],
    );
    expect(queries.length).toBeGreaterThan(10);
    const empty: string[] = [];
    for (const { name, expr } of queries) {
      // A quantile or a rate over no increase is NaN: a sample, but not data a panel can show.
      const values = (await prometheus.query(expr)).map((sample) => Number(sample.value[1]));
      if (!values.some((v) => Number.isFinite(v))) empty.push(`${name}: ${expr}`);
    }
    expect(empty).toEqual([]);
  });
});
