// The client SDK and the v2 limits, against the real Worker in workerd: the quota's request
// bucket and calls-in-flight cap, a key's own limits (set at creation, changed, cleared), the
// limits read's new shape, and OpenAI's x-ratelimit-* trios read from real responses.

import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { AegisAdmin, AegisClient, HTTPError } from "../../src/client/index";
import { ADMIN_TOKEN, BASE } from "../support/workers/helpers";

const viaWorker = (request: Request) => SELF.fetch(request);
const admin = new AegisAdmin({ baseUrl: BASE, token: ADMIN_TOKEN, fetch: viaWorker });
const chat = (client: AegisClient) => client.fetch("/v1/chat/completions", { method: "POST", json: {} });

describe("AegisAdmin and AegisClient with v2 limits", () => {
  it("sets a request bucket and a cap without a units bucket, and a key's own limits, and reads them back", async () => {
    const tenant = await admin.createTenant({
      name: "sdk v2",
      quota: {
        ratePerMinute: null,
        burst: null,
        // No refill, so that what is left does not depend on how long the test takes.
        requestsPerMinute: 0,
        requestBurst: 3,
        maxConcurrent: 4,
        dailyUnits: null,
        timeZone: "UTC",
      },
    });
    // Every field of the quota is there, null where there is none.
    expect(tenant.quota).toEqual({
      ratePerMinute: null,
      burst: null,
      requestsPerMinute: 0,
      requestBurst: 3,
      maxConcurrent: 4,
      // Left out of the quota: QUOTA_ALERT_THRESHOLDS' default.
      alerts: { thresholds: [0.8, 1], inherited: true },
      dailyUnits: null,
      timeZone: "UTC",
      shadow: false,
      leases: false,
      routes: {},
      unitPrice: null,
    });

    const created = await admin.createKey(tenant.id, { name: "batch", limits: { requestsPerMinute: 2 } });
    expect(created.limits).toEqual({ requestsPerMinute: 2 });
    const listed = (await admin.listKeys(tenant.id)).keys.find((k) => k.id === created.id);
    expect(listed?.limits).toEqual({ requestsPerMinute: 2 });

    const client = new AegisClient({ baseUrl: BASE, apiKey: created.key, fetch: viaWorker, retry: false });
    const limits = await client.limits();
    const byName = Object.fromEntries(limits.buckets.map((b) => [b.name, b]));
    // No units bucket anywhere: only request buckets, the tenant's and the key's.
    expect(limits.buckets.every((b) => b.kind === "requests")).toBe(true);
    expect(byName["chat/requests"]).toMatchObject({ kind: "requests", quota: 3, remaining: 3, ratePerMinute: 0 });
    expect(byName["key/chat/requests"]).toMatchObject({ kind: "requests", quota: 2, remaining: 2, ratePerMinute: 2 });
    expect(byName.chat).toBeUndefined();
    expect(limits.concurrency).toEqual([{ name: "concurrency", limit: 4, inFlight: 0 }]);
    expect(limits.daily).toMatchObject({ units: null, remaining: null });

    // OpenAI's requests trio is the request bucket with the least left: the key's.
    const first = await chat(client);
    expect(first.status).toBe(200);
    expect(first.rateLimit.openai).toEqual({ requests: { limit: 2, remaining: 1, reset: "30s", resetSeconds: 30 } });
    expect(first.rateLimit.policies.map((p) => p.name).sort()).toEqual(
      ["chat/requests", "concurrency", "key/chat/requests"].sort(),
    );
    await first.arrayBuffer();
    await (await chat(client)).arrayBuffer();
    const refused = (await chat(client).catch((e: unknown) => e)) as HTTPError;
    expect(refused).toBeInstanceOf(HTTPError);
    expect(refused.status).toBe(429);
    expect(refused.problem["violated-policies"]).toEqual(["key/chat/requests"]);

    // Raised, then cleared: the tenant's bucket (3, two taken) is what is left to meet.
    const raised = await admin.setKeyLimits(tenant.id, created.id, { requestsPerMinute: 100, requestBurst: 100 });
    expect(raised).toMatchObject({ id: created.id, limits: { requestsPerMinute: 100, requestBurst: 100 } });
    const cleared = await admin.setKeyLimits(tenant.id, created.id, null);
    expect(cleared.limits).toBeNull();
    expect((await admin.listKeys(tenant.id)).keys.find((k) => k.id === created.id)?.limits).toBeNull();
    const after = await client.limits();
    expect(after.buckets.map((b) => b.name)).not.toContain("key/chat/requests");
    const third = await chat(client);
    expect(third.status).toBe(200);
    expect(third.rateLimit.openai?.requests).toMatchObject({ limit: 3, remaining: 0 });
    await third.arrayBuffer();

    const missing = (await admin
      .setKeyLimits(tenant.id, "keyaaaaaaaaaaaaaaaa", { requestsPerMinute: 1 })
      .catch((e: unknown) => e)) as HTTPError;
    expect(missing).toBeInstanceOf(HTTPError);
    expect(missing.problem).toMatchObject({ status: 404, code: "key-not-found" });
    const invalid = (await admin
      .setKeyLimits(tenant.id, created.id, { requestBurst: 0 })
      .catch((e: unknown) => e)) as HTTPError;
    expect(invalid.problem).toMatchObject({ status: 400, code: "invalid-request" });
  });

  it("switches lease mode on and off with setQuota, and reads it back", async () => {
    const tenant = await admin.createTenant({ name: "sdk leases", quota: { leases: true } });
    expect(tenant.quota.leases).toBe(true);
    // ResolvedQuota carries it, so a quota read and written back keeps it.
    const kept = await admin.setQuota(tenant.id, tenant.quota);
    expect(kept.quota).toEqual(tenant.quota);
    const off = await admin.setQuota(tenant.id, { ...tenant.quota, leases: false });
    expect(off.quota).toEqual({ ...tenant.quota, leases: false });
    expect((await admin.getTenant(tenant.id)).quota.leases).toBe(false);
    const on = await admin.setQuota(tenant.id, { ...off.quota, leases: true });
    expect((await admin.getTenant(tenant.id)).quota).toEqual(on.quota);
    expect(on.quota.leases).toBe(true);

    const invalid = (await admin
      .setQuota(tenant.id, { leases: "on" as unknown as boolean })
      .catch((e: unknown) => e)) as HTTPError;
    expect(invalid).toBeInstanceOf(HTTPError);
    expect(invalid.problem).toMatchObject({ status: 400, code: "invalid-request" });
    expect((await admin.getTenant(tenant.id)).quota.leases).toBe(true);
  });

  it("reads OpenAI's tokens trio from the units bucket or daily quota with the least left", async () => {
    const tenant = await admin.createTenant({
      name: "sdk openai",
      quota: { ratePerMinute: 60, burst: 10, dailyUnits: 1_000, requestsPerMinute: 120, timeZone: "UTC" },
    });
    const { key } = await admin.createKey(tenant.id);
    const client = new AegisClient({ baseUrl: BASE, apiKey: key, fetch: viaWorker, retry: false });
    // An embedding costs 2 units: the chat bucket has 10 - 2 left, the daily quota 998.
    const res = await client.fetch("/v1/embeddings", { method: "POST", json: {} });
    expect(res.status).toBe(200);
    const { openai, limits, policies } = res.rateLimit;
    expect(openai?.tokens).toMatchObject({ limit: 10, remaining: 8 });
    // The same numbers the IETF fields give for that bucket, and its reset in OpenAI's form.
    const embed = limits.find((l) => l.name === "embed");
    expect(embed?.remaining).toBe(8);
    expect(policies.find((p) => p.name === "embed")?.quota).toBe(10);
    expect(openai?.tokens?.resetSeconds).toBe(embed?.resetSeconds);
    expect(openai?.tokens?.reset).toBe(res.headers.get("x-ratelimit-reset-tokens"));
    // 120 a minute, with a burst of the same: one taken.
    expect(openai?.requests).toMatchObject({ limit: 120, remaining: 119 });
    await res.arrayBuffer();
  });
});
