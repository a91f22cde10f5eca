// Reading a self-hosted gateway's GET /metrics in tests, and the traffic they count: chat
// calls through the echo upstream, which reports 3 prompt tokens and the rest as completion.

import parsePrometheusTextFormat, { type ParsedFamily } from "parse-prometheus-text-format";
import { expect } from "vitest";
import type { Tenant } from "./metered-tenant";

/** The one route these tests' gateways have: chat completions, as `chat`. */
export const CHAT_ROUTES = JSON.stringify([{ method: "POST", path: "/v1/chat/completions", route: "chat", cost: 1 }]);

/** A tenant's quota that admits three calls, then refuses every call for good: no units bucket, no daily quota, a request bucket of 3 that never refills. */
export const THREE_CALLS = {
  ratePerMinute: null,
  burst: null,
  requestsPerMinute: 0,
  requestBurst: 3,
  dailyUnits: null,
} as const;

/** The scrape's text, with the metrics token; it must answer 200 in the text format. */
export async function scrapeText(gateway: { url: string }, token: string): Promise<string> {
  const res = await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toContain("text/plain");
  return res.text();
}

/** The scrape, read with a real exposition-format parser. */
export async function scrape(gateway: { url: string }, token: string): Promise<ParsedFamily[]> {
  return parsePrometheusTextFormat(await scrapeText(gateway, token));
}

/** The value of a counter's sample with exactly these labels (0 when absent). */
export function counter(families: ParsedFamily[], name: string, labels: Record<string, string>): number {
  const family = families.find((f) => f.name === name);
  const sample = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return Number(sample?.value ?? 0);
}

/** A chat call with the tenant's key; the echo upstream reports `tokens` of usage for it. */
export function chatCall(gateway: { url: string }, tenant: Tenant, tokens = 7, query = ""): Promise<Response> {
  return fetch(`${gateway.url}/v1/chat/completions?tokens=${tokens}${query}`, {
    method: "POST",
    headers: { authorization: `Bearer ${tenant.key}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "m", messages: [] }),
  });
}
