// Token routes on the Worker (workerd, a Durable Object per tenant): the prompt is counted
// with gpt-tokenizer inside the Worker, the call reserves its prompt plus its output
// allowance, and a call whose worst case does not fit is refused without being forwarded.
// The route table of the test Worker has `/v1/messages` as a token route with maxTokens 64.

import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { usageRecords } from "../../src/db/schema";
import type { TenantLimiter } from "../../src/tenant-limiter";
import { call, eventually, limiterStub, newTenant, withDb } from "../support/workers/helpers";

const heldReservations = (tenantId: string) =>
  runInDurableObject(limiterStub(tenantId), (_: TenantLimiter, state) =>
    Number(state.storage.sql.exec("SELECT count(*) AS n FROM reservations").one().n),
  );

const PROMPT = "The quick brown fox jumps over the lazy dog.";

const messages = (key: string, body: object, query = "") =>
  call(key, `/v1/messages${query}`, {
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content: PROMPT }], ...body }),
  });

const remaining = (res: Response) => Number(/"msgs";r=(\d+)/.exec(res.headers.get("ratelimit") ?? "")?.[1]);

describe("token routes on Workers", () => {
  it("reserves the prompt counted with the model's tokenizer plus max_tokens, else the route's maxTokens", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 10_000, dailyUnits: null });
    // o200k_base: 10 tokens of prompt, 4 for the message; the echo upstream reports 7 tokens.
    const first = await messages(t.key, { model: "gpt-4o", max_tokens: 100 }, "?tokens=7");
    expect(first.status).toBe(200);
    await first.arrayBuffer();
    expect(remaining(first)).toBe(10_000 - (10 + 4 + 100));
    // No max_tokens: the route's maxTokens (64). The first call has settled to 7.
    await eventually(async () => expect(await heldReservations(t.id)).toBe(0));
    const second = await messages(t.key, { model: "gpt-4o" }, "?tokens=7");
    expect(second.status).toBe(200);
    await second.arrayBuffer();
    expect(remaining(second)).toBe(10_000 - 7 - (10 + 4 + 64));
  });

  it("refuses, without forwarding, a call whose worst case is more than the bucket holds", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 500, dailyUnits: null });
    const res = await messages(t.key, { model: "claude-sonnet-4-5", max_tokens: 1_000 }, "?tokens=7");
    expect(res.status).toBe(429);
    expect(((await res.json()) as { detail: string }).detail).toContain("exceeds");
    // Nothing was forwarded, so nothing is billed: a refused call moves no count.
    const admitted = await messages(t.key, { model: "claude-sonnet-4-5", max_tokens: 400 }, "?tokens=7");
    expect(admitted.status).toBe(200);
    await admitted.arrayBuffer();
    await eventually(async () => expect(await heldReservations(t.id)).toBe(0));
    await runDurableObjectAlarm(limiterStub(t.id));
    const rows = await eventually(async () => {
      const r = await withDb((db) => db.select().from(usageRecords).where(eq(usageRecords.tenantId, t.id)));
      expect(r).toHaveLength(1);
      return r;
    });
    expect(rows[0]?.units).toBe(7);
  });
});
