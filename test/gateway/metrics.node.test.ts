// GET /metrics on the self-hosted gateway, read with a real exposition-format parser: known
// traffic (3 admitted calls, 2 limited, tokens of one model) moves each counter by exactly
// that much; the endpoint needs METRICS_TOKEN.

import type { ParsedFamily } from "parse-prometheus-text-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newTenant, type Tenant } from "../support/metered-tenant";
import { CHAT_ROUTES, chatCall, counter, scrape as scrapeWith, THREE_CALLS } from "../support/metrics-scrape";
import { startTestGateway, type TestGateway } from "../support/test-gateway";

const METRICS_TOKEN = "metrics-test-token-0123456789";
let gateway: TestGateway;
let off: TestGateway;
let tenant: Tenant;

beforeAll(async () => {
  gateway = await startTestGateway("metrics", { METRICS_TOKEN, ROUTES: CHAT_ROUTES });
  off = await startTestGateway("metrics_off");
  // Three calls, then the request bucket is empty for good: no units bucket, no daily quota.
  tenant = await newTenant(gateway, "metered", THREE_CALLS);
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await off?.stop();
});

const scrape = (g: TestGateway): Promise<ParsedFamily[]> => scrapeWith(g, METRICS_TOKEN);
const call = () => chatCall(gateway, tenant);

describe("GET /metrics", () => {
  it("counts 3 admitted and 2 limited calls, their limiter and upstream times, and their tokens", async () => {
    const before = await scrape(gateway);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await call();
      statuses.push(res.status);
      await res.text();
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
    await gateway.server.flushUsage();
    const after = await scrape(gateway);
    const moved = (name: string, labels: Record<string, string>) =>
      counter(after, name, labels) - counter(before, name, labels);

    expect(moved("aegis_calls_total", { route: "chat", outcome: "admitted" })).toBe(3);
    expect(moved("aegis_calls_total", { route: "chat", outcome: "limited", policy: "chat/requests" })).toBe(2);
    // The echo upstream reports 3 prompt and 4 completion tokens of each call, for echo-1.
    expect(moved("aegis_tokens_total", { route: "chat", model: "echo-1", dimension: "input" })).toBe(9);
    expect(moved("aegis_tokens_total", { route: "chat", model: "echo-1", dimension: "output" })).toBe(12);
    // Observations: the +Inf bucket (the parser keeps buckets, not _count, of a labelled histogram).
    const histogram = (families: ParsedFamily[], name: string) =>
      Number(families.find((f) => f.name === name)?.metrics[0]?.buckets?.["+Inf"] ?? 0);
    expect(
      histogram(after, "aegis_limiter_decision_seconds") - histogram(before, "aegis_limiter_decision_seconds"),
    ).toBe(5);
    expect(histogram(after, "aegis_upstream_seconds") - histogram(before, "aegis_upstream_seconds")).toBe(3);
  });

  it("counts the pipeline: usage stored, dead letters, invoice runs, webhook deliveries by status", async () => {
    const before = await scrape(gateway);
    const res = await call();
    await res.text();
    await gateway.server.flushUsage();
    await gateway.server.runBilling(Date.now());
    const after = await scrape(gateway);
    const moved = (name: string, labels: Record<string, string> = {}) =>
      counter(after, name, labels) - counter(before, name, labels);
    // The bucket is empty by now: a refused call writes no usage. The three admitted calls of
    // the test before wrote one event each, and this gateway has stored exactly those.
    expect(res.status).toBe(429);
    expect(counter(after, "aegis_usage_events_total", { result: "stored" })).toBe(3);
    // Stored in batches: at least one, and no more than one per event.
    const batches = counter(after, "aegis_usage_ingest_batches_total", {});
    expect(batches).toBeGreaterThanOrEqual(1);
    expect(batches).toBeLessThanOrEqual(3);
    expect(moved("aegis_usage_events_total", { result: "dead_lettered" })).toBe(0);
    // Both gauges are read (a missing one would count 0 too): nothing dead-lettered, and
    // everything written was stored by the flush and deleted from the streams.
    const gauge = (name: string) => after.find((f) => f.name === name)?.metrics.map((m) => Number(m.value));
    expect(gauge("aegis_usage_dead_letters")).toEqual([0]);
    expect(gauge("aegis_usage_pending")).toEqual([0]);
    expect(moved("aegis_invoice_runs_total", { result: "ok" })).toBe(1);
    // Today's usage is in the open period: the run invoices nothing yet.
    expect(moved("aegis_invoices_created_total")).toBe(0);
    const deliveries = after.find((f) => f.name === "aegis_webhook_deliveries");
    expect(deliveries?.metrics.map((m) => [m.labels?.status, Number(m.value)])).toEqual([
      ["pending", 0],
      ["delivered", 0],
      ["failed", 0],
      ["disabled", 0],
    ]);
  });

  it("needs the metrics token, and is off without one", async () => {
    const none = await fetch(`${gateway.url}/metrics`);
    expect(none.status).toBe(401);
    const wrong = await fetch(`${gateway.url}/metrics`, {
      headers: { authorization: "Bearer wrong-token-0123456789" },
    });
    expect(wrong.status).toBe(401);
    const disabled = await fetch(`${off.url}/metrics`);
    expect(disabled.status).toBe(503);
    expect(((await disabled.json()) as { code: string }).code).toBe("metrics-disabled");
  });
});
