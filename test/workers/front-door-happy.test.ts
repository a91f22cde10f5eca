import { describe, expect, it } from "vitest";
import { call, newTenant } from "./helpers";

describe("front door", () => {
  it("admits a call with a valid key, forwards it without the key, and adds RateLimit fields", async () => {
    const t = await newTenant({ ratePerMinute: 60, burst: 10, dailyUnits: 1000 });
    const res = await call(t.key);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { echo: { headers: Record<string, string> } };
    expect(body.echo.headers.authorization).toBeUndefined();
    expect(body.echo.headers["x-aegis-tenant-id"]).toBe(t.id);
    expect(res.headers.get("ratelimit-policy")).toBe('"chat";q=10;w=10, "daily";q=1000;w=86400');
    expect(res.headers.get("ratelimit")).toMatch(/^"chat";r=9;t=\d+, "daily";r=999;t=\d+$/);
  });
});
