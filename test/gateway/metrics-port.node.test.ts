// METRICS_PORT: /metrics on a port of its own. The gateway's port then has no /metrics (the
// path goes to the upstream, as any other); the metrics port asks for the token only when
// METRICS_TOKEN is set, and answers nothing but GET /metrics.

import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config";
import { newTenant } from "../support/metered-tenant";
import { startTestGateway, type TestGateway } from "../support/test-gateway";

const METRICS_TOKEN = "metrics-port-token-0123456789";
let open: TestGateway;
let guarded: TestGateway;

beforeAll(async () => {
  // The gateway listens on every interface; the metrics port stays on loopback unless asked.
  open = await startTestGateway("metrics_port", {}, { metricsPort: 0, hostname: "0.0.0.0" });
  guarded = await startTestGateway("metrics_port_token", { METRICS_TOKEN }, { metricsPort: 0 });
}, 60_000);

afterAll(async () => {
  await open?.stop();
  await guarded?.stop();
});

describe("METRICS_PORT", () => {
  it("serves the exposition on its own port, counting the gateway's calls, and proxies /metrics on the gateway's", async () => {
    const metricsUrl = open.server.metricsUrl ?? "";
    expect(new URL(metricsUrl).port).not.toBe(new URL(open.url).port);
    expect(new URL(metricsUrl).hostname).toBe("127.0.0.1");
    expect(new URL(open.url).hostname).toBe("0.0.0.0");
    const tenant = await newTenant(open, "scraped", { ratePerMinute: null, burst: null, dailyUnits: null });
    const res = await fetch(`${open.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${tenant.key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "m", messages: [] }),
    });
    expect(res.status).toBe(200);
    await res.text();

    const scrape = await fetch(metricsUrl);
    expect(scrape.status).toBe(200);
    const families = parsePrometheusTextFormat(await scrape.text());
    const calls = families.find((f) => f.name === "aegis_calls_total");
    const admitted = calls?.metrics.filter((m) => m.labels?.outcome === "admitted").map((m) => Number(m.value));
    expect(admitted?.reduce((a, b) => a + b, 0)).toBe(1);

    // The gateway's own /metrics is the upstream's path now: a tenant's call, forwarded.
    const proxied = await fetch(`${open.url}/metrics`, { headers: { authorization: `Bearer ${tenant.key}` } });
    expect(proxied.status).toBe(200);
    expect(proxied.headers.get("x-upstream")).toBe("echo");
    await proxied.text();
  });

  it("asks for METRICS_TOKEN when one is set", async () => {
    const metricsUrl = guarded.server.metricsUrl ?? "";
    const none = await fetch(metricsUrl);
    expect(none.status).toBe(401);
    expect(none.headers.get("content-type")).toBe("application/problem+json");
    expect(((await none.json()) as { code: string }).code).toBe("unauthorized");
    const wrong = await fetch(metricsUrl, { headers: { authorization: "Bearer not-the-metrics-token-000" } });
    expect(wrong.status).toBe(401);
    await wrong.text();
    const right = await fetch(metricsUrl, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(right.status).toBe(200);
    expect(await right.text()).toContain("aegis_calls_total");
  });

  it("answers nothing else: other paths are 404 problems", async () => {
    const res = await fetch(new URL("/v1/chat/completions", open.server.metricsUrl ?? ""), { method: "POST" });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { code: string }).code).toBe("not-found");
  });

  it("is refused at startup when it is not a port number", () => {
    expect(() => loadConfig({ METRICS_PORT: "abc" })).toThrow(ConfigError);
    expect(() => loadConfig({ METRICS_PORT: "70000" })).toThrow(/METRICS_PORT/);
    expect(loadConfig({ METRICS_PORT: "9464" }).METRICS_PORT).toBe(9464);
  });
});
