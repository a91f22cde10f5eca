// The conformance suite against the TenantLimiter Durable Object, in workerd, with tenants
// made and changed through the real operator API (Postgres, then a push).

import { runInDurableObject } from "cloudflare:test";
import { sha256Hex } from "../../../src/core/secrets";
import { durableObjectStore } from "../../../src/durable/durable-object-store";
import type { TenantLimiter } from "../../../src/tenant-limiter";
import { admin, env, limiterStub, newTenant, seedTenantInPostgresOnly } from "../../support/workers/helpers";
import { type ConformanceHarness, limiterConformance } from "./limiter-conformance";

const keyIds = new Map<string, string>();

const harness: ConformanceHarness = {
  store: durableObjectStore(env.TENANT_LIMITER),
  reservationTtlMs: 900_000,
  async createTenant(limits) {
    const { id, key, keyId } = await newTenant(limits);
    keyIds.set(id, keyId);
    return { tenantId: id, keyHash: await sha256Hex(key) };
  },
  async createColdTenant(limits) {
    const { id, key } = await seedTenantInPostgresOnly(limits);
    return { tenantId: id, keyHash: await sha256Hex(key) };
  },
  async setNow(t, ms) {
    await runInDurableObject(limiterStub(t.tenantId), (instance: TenantLimiter) => {
      instance.clock = () => ms;
    });
  },
  async revokeKey(t) {
    const res = await admin(`/tenants/${t.tenantId}/keys/${keyIds.get(t.tenantId)}`, { method: "DELETE" });
    if (!res.ok) throw new Error(`revoke: ${res.status} ${await res.text()}`);
  },
  async suspend(t) {
    const res = await admin(`/tenants/${t.tenantId}`, { method: "PATCH", json: { status: "suspended" } });
    if (!res.ok) throw new Error(`suspend: ${res.status} ${await res.text()}`);
  },
};

limiterConformance("Durable Object (workerd)", () => harness);
