import { SELF } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { admin, adminJson, BASE } from "../support/workers/helpers";

async function problem(res: Response) {
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  const body = (await res.json()) as { type: string; title: string; status: number; detail: string; code: string };
  expect(body.status).toBe(res.status);
  expect(body.type.endsWith(body.code)).toBe(true);
  expect(body.detail.length).toBeGreaterThan(0);
  return body;
}

describe("operator API errors", () => {
  it("answers 401 to a missing or wrong token", async () => {
    const missing = await SELF.fetch(`${BASE}/admin/v1/tenants`);
    expect(missing.status).toBe(401);
    expect((await problem(missing)).code).toBe("unauthorized");
    const wrong = await admin("/tenants", { headers: { authorization: "Bearer test-admin-token-0123456780" } });
    expect(wrong.status).toBe(401);
    await problem(wrong);
    const basic = await admin("/tenants", { headers: { authorization: "Basic dGVzdDp0ZXN0" } });
    expect(basic.status).toBe(401);
  });

  it("answers 400 to a malformed body", async () => {
    const res = await admin("/tenants", {
      method: "POST",
      body: "{not json",
      headers: { "content-type": "application/json" },
    });
    expect(res.status).toBe(400);
    await problem(res);
  });

  it("answers 400 with every issue to bad types and unknown fields", async () => {
    const res = await admin("/tenants", {
      method: "POST",
      json: { name: 42, quota: { ratePerMinute: -1, burst: 1.5, dailyUnits: "lots" }, colour: "blue" },
    });
    expect(res.status).toBe(400);
    const body = await problem(res);
    expect(body.code).toBe("invalid-request");
    const paths = ((body as unknown as { errors: { path: string }[] }).errors ?? []).map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(["name", "quota.ratePerMinute", "quota.burst", "quota.dailyUnits"]));
  });

  it("rejects a route override named after the daily policy, and an unknown time zone", async () => {
    const { id } = await adminJson<{ id: string }>("/tenants", { method: "POST", json: { name: "x" } });
    const daily = await admin(`/tenants/${id}/quota`, {
      method: "PUT",
      json: { ratePerMinute: 1, burst: 1, dailyUnits: 1, routes: { daily: { cost: 1 } } },
    });
    expect(daily.status).toBe(400);
    const tz = await admin(`/tenants/${id}/quota`, {
      method: "PUT",
      json: { ratePerMinute: 1, burst: 1, dailyUnits: 1, timeZone: "Mars/Base" },
    });
    expect(tz.status).toBe(400);
    expect((await problem(tz)).detail).toContain("time zone");
    const concurrency = await admin(`/tenants/${id}/quota`, {
      method: "PUT",
      json: { routes: { concurrency: { cost: 1 } } },
    });
    expect(concurrency.status).toBe(400);
    expect((await problem(concurrency)).detail).toContain("routes.concurrency");
    const key = await admin(`/tenants/${id}/quota`, { method: "PUT", json: { routes: { key: { cost: 1 } } } });
    expect((await problem(key)).detail).toContain("routes.key");
  });

  it("refuses a rate of 0 whose bucket would have no burst, which would mean no limit at all", async () => {
    const { id } = await adminJson<{ id: string }>("/tenants", { method: "POST", json: { name: "zero" } });
    const paths = async (res: Response) => {
      expect(res.status).toBe(400);
      return ((await problem(res)) as unknown as { errors: { path: string }[] }).errors.map((e) => e.path);
    };
    const quota = (json: object) => admin(`/tenants/${id}/quota`, { method: "PUT", json });
    expect(await paths(await quota({ requestsPerMinute: 0 }))).toEqual(["requestBurst"]);
    expect(await paths(await quota({ ratePerMinute: 0, burst: null }))).toEqual(["burst"]);
    const soon = new Date(Date.now() + 60_000).toISOString();
    const override = await admin(`/tenants/${id}/override`, {
      method: "PUT",
      json: { quota: { ratePerMinute: 0, burst: null }, until: soon },
    });
    expect(await paths(override)).toEqual(["quota.burst"]);
    const key = await admin(`/tenants/${id}/keys`, { method: "POST", json: { limits: { ratePerMinute: 0 } } });
    expect(await paths(key)).toEqual(["limits.burst"]);
    // Where the burst comes from elsewhere (the gateway's default, the tenant's), 0 is a bucket that never refills.
    expect((await quota({ ratePerMinute: 0, requestsPerMinute: 0, requestBurst: 5 })).status).toBe(200);
    expect((await quota({ routes: { chat: { ratePerMinute: 0 } } })).status).toBe(200);
    // In a route, null is the tenant's number too: a fixed allowance of the tenant's request burst.
    const fixed = { requestBurst: 10, routes: { chat: { requestsPerMinute: 0, requestBurst: null } } };
    expect((await quota(fixed)).status).toBe(200);
  });

  it("answers 400 to v2 limits out of range, and 404 to limits for a key that is not there", async () => {
    const { id } = await adminJson<{ id: string }>("/tenants", { method: "POST", json: { name: "v2" } });
    const bad = await admin(`/tenants/${id}/quota`, {
      method: "PUT",
      json: { requestsPerMinute: -1, requestBurst: 0, maxConcurrent: 0, routes: { chat: { maxConcurrent: 1.5 } } },
    });
    expect(bad.status).toBe(400);
    const paths = ((await problem(bad)) as unknown as { errors: { path: string }[] }).errors.map((e) => e.path);
    expect(paths).toEqual(
      expect.arrayContaining(["requestsPerMinute", "requestBurst", "maxConcurrent", "routes.chat.maxConcurrent"]),
    );
    const past = await admin(`/tenants/${id}/override`, {
      method: "PUT",
      json: { quota: { dailyUnits: 1 }, until: new Date(Date.now() - 1000).toISOString() },
    });
    expect(past.status).toBe(400);
    expect((await problem(past)).code).toBe("invalid-override");
    const far = new Date(Date.now() + 400 * 86_400_000).toISOString();
    const tooFar = await admin(`/tenants/${id}/override`, {
      method: "PUT",
      json: { quota: { dailyUnits: 1 }, until: far },
    });
    expect((await problem(tooFar)).code).toBe("invalid-override");
    const soon = new Date(Date.now() + 60_000).toISOString();
    const empty = await admin(`/tenants/${id}/override`, { method: "PUT", json: { quota: {}, until: soon } });
    expect((await problem(empty)).code).toBe("invalid-request");
    const price = await admin(`/tenants/${id}/override`, {
      method: "PUT",
      json: { quota: { unitPrice: "1" }, until: soon },
    });
    expect((await problem(price)).code).toBe("invalid-request");
    // Lease mode is the quota's: an override cannot switch it.
    const leasing = await admin(`/tenants/${id}/override`, {
      method: "PUT",
      json: { quota: { leases: true }, until: soon },
    });
    expect(leasing.status).toBe(400);
    expect((await problem(leasing)).code).toBe("invalid-request");
    const keyLimits = await admin(`/tenants/${id}/keys`, { method: "POST", json: { limits: { maxConcurrent: 2 } } });
    expect(keyLimits.status).toBe(400);
    const noKey = await admin(`/tenants/${id}/keys/keyaaaaaaaaaaaaaaaa`, { method: "PATCH", json: { limits: null } });
    expect(noKey.status).toBe(404);
    expect((await problem(noKey)).code).toBe("key-not-found");
  });

  it("answers 400 to a lease mode that is not a boolean, and keeps the quota as it was", async () => {
    const { id } = await adminJson<{ id: string }>("/tenants", {
      method: "POST",
      json: { name: "leases", quota: { leases: true } },
    });
    for (const leases of ["on", "true", 1, null]) {
      const res = await admin(`/tenants/${id}/quota`, { method: "PUT", json: { leases } });
      expect(res.status, JSON.stringify(leases)).toBe(400);
      const body = (await problem(res)) as unknown as { code: string; errors: { path: string }[] };
      expect(body.code).toBe("invalid-request");
      expect(body.errors.map((e) => e.path)).toEqual(["leases"]);
    }
    const created = await admin("/tenants", { method: "POST", json: { name: "l", quota: { leases: "yes" } } });
    expect(created.status).toBe(400);
    expect(((await problem(created)) as unknown as { errors: { path: string }[] }).errors[0]?.path).toBe(
      "quota.leases",
    );
    expect((await adminJson<{ quota: { leases: boolean } }>(`/tenants/${id}`)).quota.leases).toBe(true);
  });

  it("answers 404 to an unknown tenant or key, and 400 to a malformed id", async () => {
    const unknown = "tnaaaaaaaaaaaaaaaa";
    expect((await admin(`/tenants/${unknown}`)).status).toBe(404);
    expect((await admin(`/tenants/${unknown}`, { method: "PATCH", json: { name: "x" } })).status).toBe(404);
    expect(
      (await admin(`/tenants/${unknown}/quota`, { method: "PUT", json: { ratePerMinute: 1, burst: 1, dailyUnits: 1 } }))
        .status,
    ).toBe(404);
    expect((await admin(`/tenants/${unknown}/keys`, { method: "POST", json: {} })).status).toBe(404);
    const { id } = await adminJson<{ id: string }>("/tenants", { method: "POST", json: { name: "x" } });
    const noKey = await admin(`/tenants/${id}/keys/keyaaaaaaaaaaaaaaaa`, { method: "DELETE" });
    expect(noKey.status).toBe(404);
    expect((await problem(noKey)).code).toBe("key-not-found");
    const malformed = await admin("/tenants/not-a-tenant");
    expect(malformed.status).toBe(400);
    await problem(malformed);
    expect((await admin("/nothing-here")).status).toBe(404);
  });

  it("answers 400 to text Postgres cannot store", async () => {
    for (const json of [{ name: "a\u0000b" }, { name: "ok", billingAccountId: "cus\u0000" }, { name: "tab\there" }]) {
      const res = await admin("/tenants", { method: "POST", json });
      expect(res.status, JSON.stringify(json)).toBe(400);
      await problem(res);
    }
    const { id } = await adminJson<{ id: string }>("/tenants", { method: "POST", json: { name: "x" } });
    expect((await admin(`/tenants/${id}/keys`, { method: "POST", json: { name: "k\u0000" } })).status).toBe(400);
  });

  it("answers 400 to a bad cursor or page size, and 413 to a huge body", async () => {
    expect((await admin("/tenants?cursor=%%%")).status).toBe(400);
    const forged = btoa(JSON.stringify(["+010000-01-01T00:00:00.000Z", "tnaaaaaaaaaaaaaaaa"]));
    expect((await admin(`/tenants?cursor=${encodeURIComponent(forged)}`)).status).toBe(400);
    const nul = btoa(JSON.stringify(["2026-01-01T00:00:00.000Z", "x\u0000"]));
    expect((await admin(`/tenants?cursor=${encodeURIComponent(nul)}`)).status).toBe(400);
    expect((await admin("/tenants?limit=0")).status).toBe(400);
    expect((await admin("/tenants?limit=abc")).status).toBe(400);
    const huge = await admin("/tenants", { method: "POST", json: { name: "x".repeat(70_000) } });
    expect(huge.status).toBe(413);
    await problem(huge);
  });

  it("never answers 5xx to fuzzed bodies and paths", async () => {
    const { id } = await adminJson<{ id: string }>("/tenants", { method: "POST", json: { name: "fuzz" } });
    const pathArb = fc.oneof(
      fc.constantFrom(
        "/tenants",
        `/tenants/${id}`,
        `/tenants/${id}/quota`,
        `/tenants/${id}/keys`,
        `/tenants/${id}/keys/keyaaaaaaaaaaaaaaaa`,
      ),
      fc.webPath().map((p) => `/tenants${p}`),
      fc.string({ unit: "binary" }).map((s) => `/tenants/${encodeURIComponent(s)}`),
      fc.string({ unit: "binary" }).map((s) => `/tenants?cursor=${encodeURIComponent(s)}`),
    );
    const bodyArb = fc.oneof(
      fc.json(),
      fc.string(),
      fc.string({ unit: "binary" }).map((s) => JSON.stringify({ name: s, billingAccountId: s })),
      fc.jsonValue().map((v) => JSON.stringify({ name: v, quota: v, status: v })),
      fc
        .record(
          { ratePerMinute: fc.jsonValue(), burst: fc.jsonValue(), dailyUnits: fc.jsonValue(), routes: fc.jsonValue() },
          { requiredKeys: [] },
        )
        .map((v) => JSON.stringify(v)),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE"),
        pathArb,
        bodyArb,
        fc.constantFrom("application/json", "text/plain", ""),
        async (method, path, body, contentType) => {
          const headers: Record<string, string> = contentType ? { "content-type": contentType } : {};
          const res = await admin(path, { method, headers, body: method === "GET" ? undefined : body });
          const text = await res.text();
          expect(res.status, `${method} ${path} ${body} -> ${text}`).toBeLessThan(500);
          if (res.status >= 400) expect(res.headers.get("content-type"), text).toBe("application/problem+json");
        },
      ),
      { numRuns: 250 },
    );
  });
});
