// A tenant of a test gateway, and the usage the gateway stored for it: made through the
// admin API, read back through the tenant's own usage read once the self-hosted consumer
// has moved it from the Redis stream to Postgres, and its events' `estimated` flags from
// usage_records.

import pg from "pg";
import type { ExpectStatic } from "vitest";
import type { UsageTotals as ReadTotals } from "../../src/metering/usage-query";
import { until } from "./wait";

/** The parts of a running gateway these helpers use (a TestGateway has them). */
export interface GatewayAccess {
  url: string;
  /** The admin token. */
  token: string;
  databaseUrl: string;
  /** The gateway's server, which can store the usage written so far at once. */
  server: { flushUsage(): Promise<void> };
}

export interface Tenant {
  id: string;
  key: string;
}

/** The dimensions the tests compare with what an upstream served: the usage read's, less the estimated parts. */
export type UsageTotals = Omit<ReadTotals, "estimatedRequests" | "estimatedUnits">;
type Estimated = Pick<ReadTotals, "estimatedRequests" | "estimatedUnits">;

export interface UsageRead {
  days: ({ day: string; route: string; model: string | null } & UsageTotals & Estimated)[];
  totals: UsageTotals & Estimated;
  totalUnits: number;
}

/**
 * A tenant with a key and the quota given, or (given a number) a bucket of that many units
 * that never refills: by default more than these tests could reach.
 */
export async function newTenant(
  gateway: GatewayAccess,
  name: string,
  quota: number | Record<string, unknown> = 1_000_000,
): Promise<Tenant> {
  const admin = async <T>(path: string, body: unknown): Promise<T> => {
    const res = await fetch(`${gateway.url}/admin/v1${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${gateway.token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const tenant = await admin<{ id: string }>("/tenants", {
    name,
    quota: typeof quota === "number" ? { ratePerMinute: 0, burst: quota, dailyUnits: null } : quota,
  });
  const { key } = await admin<{ key: string }>(`/tenants/${tenant.id}/keys`, {});
  return { id: tenant.id, key };
}

/**
 * The tenant's usage read (GET /account/v1/usage, with its key) once `requests` calls are
 * stored, flushing the server's usage before each read (a call settles once its reply has
 * ended, which may be just after the client saw the end). The consumer stores each call's event whole, so a read that counts them all has
 * every dimension of every call.
 */
export async function storedUsage(gateway: GatewayAccess, tenant: Tenant, requests: number): Promise<UsageRead> {
  let usage: UsageRead | undefined;
  await until(`${requests} calls stored for ${tenant.id}`, async () => {
    await gateway.server.flushUsage();
    const res = await fetch(`${gateway.url}/account/v1/usage`, { headers: { authorization: `Bearer ${tenant.key}` } });
    if (!res.ok) throw new Error(`GET /account/v1/usage: ${res.status} ${await res.text()}`);
    usage = (await res.json()) as UsageRead;
    return usage.totals.requests >= requests;
  });
  return usage as UsageRead;
}

/** How many of the tenant's stored events are marked `estimated` (usage the upstream did not report). */
export async function estimatedEvents(
  databaseUrl: string,
  tenantId: string,
): Promise<{ events: number; estimated: number }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ events: number; estimated: number }>(
      "SELECT count(*)::int AS events, count(*) FILTER (WHERE estimated)::int AS estimated FROM usage_records WHERE tenant_id = $1",
      [tenantId],
    );
    return rows[0] ?? { events: 0, estimated: 0 };
  } finally {
    await client.end();
  }
}

export type UsageRow = { route: string; model: string | null } & UsageTotals;

/** One call that served these tokens, as a usage row: units are input + output, as on a token route. */
export function servedCall(
  route: string,
  model: string,
  tokens: { inputTokens: number; outputTokens: number; cachedInputTokens: number },
): UsageRow {
  return { route, model, requests: 1, ...tokens, units: tokens.inputTokens + tokens.outputTokens };
}

/** Rows summed per "route model" (over days, or over calls), to compare what was served with what was stored. */
export function byRouteAndModel(rows: UsageRow[]): Record<string, UsageTotals> {
  const sums: Record<string, UsageTotals> = {};
  for (const { route, model, requests, inputTokens, outputTokens, cachedInputTokens, units } of rows) {
    const key = `${route} ${model}`;
    const sum = sums[key] ?? { requests: 0, inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, units: 0 };
    sum.requests += requests;
    sum.inputTokens += inputTokens;
    sum.outputTokens += outputTokens;
    sum.cachedInputTokens += cachedInputTokens;
    sum.units += units;
    sums[key] = sum;
  }
  return sums;
}

/**
 * The tenant's stored usage, summed per route and model, is exactly `calls` (one row per
 * call the upstream served it), and none of its stored events is an estimate.
 */
export async function expectStored(
  expect: ExpectStatic,
  gateway: GatewayAccess,
  tenant: Tenant,
  calls: UsageRow[],
): Promise<void> {
  expect(calls.length).toBeGreaterThan(0);
  const usage = await storedUsage(gateway, tenant, calls.length);
  expect(byRouteAndModel(usage.days)).toEqual(byRouteAndModel(calls));
  expect(await estimatedEvents(gateway.databaseUrl, tenant.id)).toEqual({ events: calls.length, estimated: 0 });
}
