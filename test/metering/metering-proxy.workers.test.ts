import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { describe, expect, inject, it } from "vitest";
import { usageRecords } from "../../src/db/schema";
import type { TenantLimiter } from "../../src/tenant-limiter";
import { call, eventually, limiterStub, newTenant, usedToday, withDb } from "../support/workers/helpers";

const heldReservations = (tenantId: string) =>
  runInDurableObject(limiterStub(tenantId), (_: TenantLimiter, state) =>
    Number(state.storage.sql.exec("SELECT count(*) AS n FROM reservations").one().n),
  );

const chat = (key: string, query = "") =>
  call(key, `/v1/chat/completions${query}`, { body: JSON.stringify({ model: "m" }) });

describe("metering proxied calls", () => {
  it("settles to usage.total_tokens of a JSON reply", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 1_000, dailyUnits: 10_000 });
    const res = await chat(t.key, "?tokens=7");
    expect(res.status).toBe(200);
    await res.json();
    await eventually(async () => expect(await usedToday(t.id)).toBe(7));
  });

  it("prefers the upstream's x-usage-units header", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 1_000, dailyUnits: 10_000 });
    await (await chat(t.key, "?tokens=7&units=25")).arrayBuffer();
    await eventually(async () => expect(await usedToday(t.id)).toBe(25));
  });

  it("settles a failed upstream call (5xx) to 0 units", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 1_000, dailyUnits: 10_000 });
    const res = await chat(t.key, "?status=503&tokens=50");
    expect(res.status).toBe(503);
    await res.arrayBuffer();
    await eventually(async () => expect(await usedToday(t.id)).toBe(0));
  });

  it("falls back to the route's cost when the reply reports nothing", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 1_000, dailyUnits: 10_000, routes: { embed: { cost: 3 } } });
    const res = await call(t.key, "/v1/embeddings?plain=1", { method: "GET", body: null });
    expect(await res.text()).toBe("no usage here");
    // Settled (no reservation left), at the estimate.
    await eventually(async () => expect(await heldReservations(t.id)).toBe(0));
    expect(await usedToday(t.id)).toBe(3);
  });

  it("streams an SSE reply without holding it, and bills the units of its final usage chunk", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 1_000, dailyUnits: 10_000 });
    const hold = `h${Math.random().toString(36).slice(2)}`;
    const res = await chat(t.key, `?sse=1&tokens=42&hold=${hold}`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    // The upstream is still holding its stream open: this byte came through before it finished.
    expect(new TextDecoder().decode(first.value)).toContain("first");
    expect(await usedToday(t.id)).toBe(1); // only the reservation so far
    await fetch(`${inject("upstreamUrl")}/release?id=${hold}`);
    let rest = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    expect(rest).toContain("[DONE]");
    await eventually(async () => expect(await usedToday(t.id)).toBe(42));
  });

  it("asks a stream that did not ask for its usage, bills it, and gives the client no usage chunk", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 1_000, dailyUnits: 10_000 });
    // The upstream sends usage only when asked, as vLLM does.
    const res = await call(t.key, "/v1/chat/completions?sse=1&tokens=9&usage=asked", {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", stream: true, messages: [] }),
    });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toBe(
      'data: {"choices":[{"delta":{"content":"first"}}]}\n\ndata: {"choices":[{"delta":{"content":" second"}}]}\n\ndata: [DONE]\n\n',
    );
    await eventually(async () => expect(await usedToday(t.id)).toBe(9));
    // A client that asked gets the usage chunk, as before.
    const asked = await call(t.key, "/v1/chat/completions?sse=1&tokens=5&usage=asked", {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ stream: true, stream_options: { include_usage: true } }),
    });
    expect(await asked.text()).toContain('"usage":{"total_tokens":5}');
    await eventually(async () => expect(await usedToday(t.id)).toBe(14));
  });

  it("bills a stream the client abandons for the usage its upstream reports, not the estimate", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 1_000, dailyUnits: 10_000 });
    const hold = `h${Math.random().toString(36).slice(2)}`;
    const res = await chat(t.key, `?sse=1&tokens=64&hold=${hold}`);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("first");
    await reader.cancel("client went away");
    await fetch(`${inject("upstreamUrl")}/release?id=${hold}`);
    await eventually(async () => expect(await heldReservations(t.id)).toBe(0));
    expect(await usedToday(t.id)).toBe(64);
  });

  it("meters a route whose cost is 0: it is billed by the units it reports", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 1_000, dailyUnits: 10_000, routes: { chat: { cost: 0 } } });
    const res = await chat(t.key, "?units=250");
    await res.arrayBuffer();
    await eventually(async () => expect(await usedToday(t.id)).toBe(250));
  });

  it("records each settled call as one usage event in Postgres, with its model", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 1_000, dailyUnits: 10_000 });
    await (await chat(t.key, "?tokens=11")).arrayBuffer();
    await (await chat(t.key, "?sse=1&tokens=13")).arrayBuffer();
    await eventually(async () => expect(await usedToday(t.id)).toBe(24));
    await runDurableObjectAlarm(limiterStub(t.id));
    const rows = await eventually(async () => {
      const r = await withDb((db) =>
        db
          .select({ units: usageRecords.units, model: sql<string>`${usageRecords.metadata}->>'model'` })
          .from(usageRecords)
          .where(eq(usageRecords.tenantId, t.id)),
      );
      expect(r).toHaveLength(2);
      return r;
    });
    expect(rows.map((r) => [r.units, r.model]).sort()).toEqual([
      [11, "echo-1"],
      [13, "echo-stream"],
    ]);
  });

  it("records each proxied call's dimensions: its tokens and model, or that its units are the estimate", async () => {
    const t = await newTenant({ ratePerMinute: 0, burst: 1_000, dailyUnits: 10_000 });
    for (const query of ["?tokens=11", "?sse=1&tokens=13", "?units=4", "?plain=1", "?status=500"]) {
      await (await chat(t.key, query)).arrayBuffer();
    }
    await eventually(async () => expect(await heldReservations(t.id)).toBe(0));
    await runDurableObjectAlarm(limiterStub(t.id));
    const rows = await eventually(async () => {
      const r = await withDb((db) =>
        db
          .select({
            units: usageRecords.units,
            model: usageRecords.model,
            requests: usageRecords.requests,
            inputTokens: usageRecords.inputTokens,
            outputTokens: usageRecords.outputTokens,
            estimated: usageRecords.estimated,
          })
          .from(usageRecords)
          .where(eq(usageRecords.tenantId, t.id))
          .orderBy(usageRecords.units),
      );
      expect(r).toHaveLength(5);
      return r;
    });
    const reported = { requests: 1, estimated: false };
    expect(rows).toEqual([
      // A 5xx: nothing billed, nothing estimated.
      { units: 0, model: null, inputTokens: 0, outputTokens: 0, ...reported },
      // Nothing reported: the route's cost, marked.
      { units: 1, model: null, inputTokens: 0, outputTokens: 0, requests: 1, estimated: true },
      // x-usage-units: reported, without a breakdown.
      { units: 4, model: null, inputTokens: 0, outputTokens: 0, ...reported },
      // prompt_tokens 3 + completion_tokens 8.
      { units: 11, model: "echo-1", inputTokens: 3, outputTokens: 8, ...reported },
      // A stream reporting only total_tokens.
      { units: 13, model: "echo-stream", inputTokens: 0, outputTokens: 0, ...reported },
    ]);
    // The usage read says how much of it is the gateway's estimate.
    const usage = await eventually(async () => {
      const res = await call(t.key, "/account/v1/usage", { method: "GET", body: null });
      const body = (await res.json()) as { totals: Record<string, number> };
      expect(body.totals.requests).toBe(5);
      return body;
    });
    expect(usage.totals).toMatchObject({ units: 29, estimatedRequests: 1, estimatedUnits: 1 });
  });
});
