// "Keys are stored only as hashes, and never logged", on Workers: the tenant's Durable Object
// storage, every Postgres table, and what the Worker logged hold neither the key nor any
// 8-character window of its secret.

import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { rowsOf } from "../../src/db/database";
import worker from "../../src/index";
import type { TenantLimiter } from "../../src/tenant-limiter";
import {
  admin,
  adminJson,
  BASE,
  call,
  env,
  eventually,
  limiterStub,
  newTenant,
  usedToday,
  withDb,
} from "../support/workers/helpers";

const logged: string[] = [];

beforeAll(() => {
  for (const method of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      logged.push(args.map((a) => (typeof a === "string" ? a : (JSON.stringify(a) ?? String(a)))).join(" "));
    });
  }
});

afterAll(() => {
  vi.restoreAllMocks();
});

function needles(key: string): string[] {
  const secret = key.split("_")[2] as string;
  expect(secret).toHaveLength(32);
  return [key, ...Array.from({ length: secret.length - 7 }, (_, i) => secret.slice(i, i + 8))];
}

describe("API keys at rest, Workers", () => {
  it("are found nowhere: not in the Durable Object, Postgres or the logs", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 1_000, dailyUnits: 100_000 });
    for (const path of ["/v1/chat/completions?tokens=9", "/v1/chat/completions?sse=1&tokens=4"]) {
      const res = await call(t.key, path, { body: JSON.stringify({ model: "m" }) });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    const report = await call(t.key, "/account/v1/usage", {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ units: 5, idempotencyKey: "job-1", metadata: { job: "nightly" } }),
    });
    expect(report.status).toBe(202);
    // An upstream that cannot be reached: the Worker logs the failed call.
    const ctx = createExecutionContext();
    const failed = await worker.fetch(
      new Request(`${BASE}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${t.key}` } }),
      { ...env, UPSTREAM_URL: "http://127.0.0.1:1" },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(failed.status).toBe(502);
    expect(logged.some((line) => line.includes("upstream fetch failed"))).toBe(true);
    const nearMiss = `${t.key.slice(0, -1)}${t.key.endsWith("0") ? "1" : "0"}`;
    expect((await call(nearMiss)).status).toBe(401);
    await eventually(async () => expect(await usedToday(t.id)).toBe(9 + 4 + 5));
    expect((await admin(`/tenants/${t.id}/keys/${t.keyId}`, { method: "DELETE" })).status).toBeLessThan(300);
    expect((await call(t.key)).status).toBe(401);

    const objectText = await runInDurableObject(limiterStub(t.id), (_: TenantLimiter, state) => {
      const tables = state.storage.sql
        .exec<{ name: string }>(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'",
        )
        .toArray();
      return tables
        .map(({ name }) => JSON.stringify(state.storage.sql.exec(`SELECT * FROM "${name}"`).toArray()))
        .join("\n");
    });
    const postgresText = await withDb(async (db) => {
      const tables = rowsOf<{ name: string }>(
        await db.execute(sql`SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public'`),
      );
      expect(tables.length).toBeGreaterThan(5);
      let text = "";
      for (const { name } of tables) {
        const rows = rowsOf<{ row: string }>(await db.execute(sql.raw(`SELECT t::text AS row FROM ${name} t`)));
        text += rows.map((r) => r.row).join("\n");
      }
      return text;
    });
    // The searches look in the right places.
    const hash = [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(t.key)))]
      .map((b) => b.toString(16).padStart(2, "0"))
      .join("");
    expect(postgresText).toContain(hash);
    expect(objectText).toContain(t.id);
    const keys = await adminJson<{ keys: { prefix: string }[] }>(`/tenants/${t.id}/keys`);
    expect(t.key.startsWith(keys.keys[0]?.prefix ?? "?")).toBe(true);

    const haystacks = { durableObject: objectText, postgres: postgresText, logs: logged.join("\n") };
    const found = Object.entries(haystacks).flatMap(([where, text]) =>
      needles(t.key)
        .filter((n) => text.includes(n))
        .map((n) => `${where}: ${n}`),
    );
    expect(found).toEqual([]);
  });
});
