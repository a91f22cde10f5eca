// Shared helpers for the workerd tests: operator calls and tenant setup through the real Worker.

import { SELF } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { noonZone } from "../noon-zone";

export const ADMIN_TOKEN = "test-admin-token-0123456789";
export const BASE = "http://gateway.test";

export { env, exports };

export function admin(path: string, init: RequestInit & { json?: unknown } = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has("authorization")) headers.set("authorization", `Bearer ${ADMIN_TOKEN}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(init.json);
  }
  return SELF.fetch(`${BASE}/admin/v1${path}`, { ...init, headers, body });
}

export async function adminJson<T = Record<string, unknown>>(
  path: string,
  init: RequestInit & { json?: unknown } = {},
) {
  const res = await admin(path, init);
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${init.method ?? "GET"} ${path}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : null) as T;
}

/** A quota as the operator API takes it. */
export type Quota = import("../../../src/client/types").Quota;

/**
 * Creates a tenant with the quota and one API key. Unless the quota names a time zone, the
 * tenant's is one where it is about noon now, so that no midnight resets its daily quota
 * while a test counts it (tests that need UTC say so).
 */
export async function newTenant(
  quota: Quota,
  name = "test tenant",
): Promise<{ id: string; key: string; keyId: string }> {
  const zoned = { timeZone: noonZone(), ...quota };
  const tenant = await adminJson<{ id: string }>("/tenants", { method: "POST", json: { name, quota: zoned } });
  const key = await adminJson<{ id: string; key: string }>(`/tenants/${tenant.id}/keys`, { method: "POST", json: {} });
  return { id: tenant.id, key: key.key, keyId: key.id };
}

export function call(key: string | null, path = "/v1/chat/completions", init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (key) headers.set("authorization", `Bearer ${key}`);
  return SELF.fetch(`${BASE}${path}`, { method: "POST", body: "{}", ...init, headers });
}

export function limiterStub(tenantId: string) {
  return env.TENANT_LIMITER.get(env.TENANT_LIMITER.idFromName(tenantId));
}

/** Runs `fn` with a database handle on the test database, through the Neon driver. */
export async function withDb<T>(fn: (db: import("../../../src/db/database").Database) => Promise<T>): Promise<T> {
  const { openNeonDatabase } = await import("../../../src/db/neon");
  const handle = openNeonDatabase(env.DATABASE_URL ?? "", env.NEON_WS_PROXY);
  try {
    return await fn(handle.db);
  } finally {
    await handle.close();
  }
}

/**
 * Creates a tenant and key in Postgres only, without telling its limiter, as if the
 * Durable Object had been wiped: the limiter must load it on its first call.
 */
export async function seedTenantInPostgresOnly(quota: Quota): Promise<{ id: string; key: string }> {
  const { newKeyId, newTenantId, sha256Hex } = await import("../../../src/core/secrets");
  const { newApiKey } = await import("../../../src/core/api-keys");
  const { createKey, createTenant } = await import("../../../src/db/tenants");
  const { loadConfig } = await import("../../../src/config");
  const { defaultLimits } = await import("../../../src/defaults");
  const config = loadConfig(env);
  const defaults = defaultLimits(config);
  const id = newTenantId();
  const { key, prefix } = await newApiKey(id, config.KEY_SIGNING_SECRET[0]);
  await withDb(async (db) => {
    await createTenant(db, { id, name: "seeded", status: "active", quota }, defaults);
    await createKey(db, id, { id: newKeyId(), prefix, keyHash: await sha256Hex(key), name: null }, defaults);
  });
  return { id, key };
}

/**
 * Retries `check` until it passes or `timeoutMs` runs out: for work that finishes after the
 * response (a settle in waitUntil, a queue delivery), not for waiting on a clock.
 */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Units the tenant's limiter has counted today. */
export async function usedToday(tenantId: string): Promise<number> {
  const r = await limiterStub(tenantId).limits({ routes: [] });
  if (r.status !== "ok") throw new Error(`limits: ${r.status}`);
  return r.limits.daily.used;
}
