// Calls in flight at the Worker, on the tenant's Durable Object: a held call takes the slot,
// the next is refused naming `concurrency`, and the slot comes back when the call ends,
// whether its stream finished, the client left, or the upstream answered an error.
// (test/gateway/concurrency.node.test.ts holds the self-hosted gateway on Redis to the same.)

import { describe, expect, inject, it } from "vitest";
import { call, eventually, newTenant } from "../support/workers/helpers";

const quota = { ratePerMinute: 0, burst: 1_000_000, dailyUnits: null, maxConcurrent: 1 };

async function inFlight(key: string): Promise<number> {
  const res = await call(key, "/account/v1/limits", { method: "GET", body: null });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { concurrency: { name: string; inFlight: number }[] };
  return body.concurrency.find((c) => c.name === "concurrency")?.inFlight ?? -1;
}

/** A streamed call the upstream holds after its first chunk, until released. */
async function heldStream(key: string) {
  const hold = `h${Math.random().toString(36).slice(2)}`;
  const res = await call(key, `/v1/chat/completions?sse=1&tokens=5&hold=${hold}`);
  expect(res.status).toBe(200);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  expect(new TextDecoder().decode((await reader.read()).value)).toContain("first");
  return { reader, release: () => fetch(`${inject("upstreamUrl")}/release?id=${hold}`) };
}

describe("calls in flight at the Worker (Durable Object)", () => {
  it("refuses a second call while one is held, and gives the slot back when its stream ends", async () => {
    const t = await newTenant(quota);
    const held = await heldStream(t.key);
    expect(await inFlight(t.key)).toBe(1);
    const refused = await call(t.key);
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ "violated-policies": ["concurrency"] });
    expect(refused.headers.get("retry-after")).toBe("1");

    await held.release();
    while (!(await held.reader.read()).done) {
      // drain the rest of the stream
    }
    await eventually(async () => expect(await inFlight(t.key)).toBe(0));
    const next = await call(t.key);
    expect(next.status).toBe(200);
    await next.arrayBuffer();
  });

  it("gives the slot back when the client leaves mid-stream", async () => {
    const t = await newTenant(quota);
    const held = await heldStream(t.key);
    await held.reader.cancel("client went away");
    await held.release();
    await eventually(async () => expect(await inFlight(t.key)).toBe(0));
    expect((await call(t.key)).status).toBe(200);
  });

  it("gives the slot back when the upstream answers an error", async () => {
    const t = await newTenant(quota);
    for (let i = 0; i < 3; i++) {
      const res = await call(t.key, "/v1/chat/completions?status=503");
      expect(res.status).toBe(503);
      await res.arrayBuffer();
      await eventually(async () => expect(await inFlight(t.key)).toBe(0));
    }
  });
});
