// The console's tenant page: tokens per model and dimension over the last 30 days, from the
// same rollup the usage API reads, one row per model, the unknown model as one row.

import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { isoDay } from "../../src/core/calendar";
import { usageDaily } from "../../src/db/schema";
import { ADMIN_TOKEN, BASE, newTenant, withDb } from "../support/workers/helpers";

const UI = `${BASE}/admin/ui`;

describe("console tenant page, tokens per model", () => {
  it("sums each model's dimensions over days and routes, most units first", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 5, dailyUnits: null }, "models");
    const today = isoDay(Date.now());
    const yesterday = isoDay(Date.now() - 86_400_000);
    type Dims = [number, number, number, number, number, number?];
    const row = (day: string, route: string, model: string, dims: Dims) => ({
      tenantId: t.id,
      day,
      route,
      model,
      requests: dims[0],
      inputTokens: dims[1],
      cachedInputTokens: dims[2],
      outputTokens: dims[3],
      units: dims[4],
      estimatedUnits: dims[5] ?? 0,
    });
    await withDb((db) =>
      db
        .insert(usageDaily)
        .values([
          row(today, "chat", "gpt-a", [2, 1500, 200, 300, 1800]),
          row(yesterday, "batch", "gpt-a", [1, 1000, 0, 1000, 2000]),
          row(today, "chat", "claude-b", [3, 100, 50, 20, 120]),
          row(today, "default", "", [4, 0, 0, 0, 4, 3]),
        ]),
    );
    const login = await SELF.fetch(`${UI}/login`, {
      method: "POST",
      body: new URLSearchParams({ token: ADMIN_TOKEN }),
      redirect: "manual",
    });
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] as string;
    const html = await (await SELF.fetch(`${UI}/tenants/${t.id}`, { headers: { cookie } })).text();
    const table = /<table id="models">.*?<\/table>/s.exec(html)?.[0] ?? "";
    const rows = [...table.matchAll(/<tr data-model="([^"]*)">(.*?)<\/tr>/gs)].map((m) => [
      m[1],
      // Each cell's text: a count is marked up (<data value>) for the browser's locale.
      ...[...(m[2] ?? "").matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((c) => c[1]?.replaceAll(/<[^>]+>/g, "")),
    ]);
    expect(rows).toEqual([
      ["gpt-a", "gpt-a", "3", "2,500", "200", "1,300", "3,800", "0"],
      ["claude-b", "claude-b", "3", "100", "50", "20", "120", "0"],
      ["", "(unknown)", "4", "0", "0", "0", "4", "3"],
    ]);
  });
});
