// The official openai client against the gateway's limits: it reads the OpenAI-style
// x-ratelimit-* headers, raises its RateLimitError on a 429, and with retries on, waits as
// Retry-After says and succeeds. A call refused for want of a slot is never forwarded, and a
// call the client abandons gives its slot back.

import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AiUpstream, startAiUpstream } from "../support/ai-upstream";
import { inFlight } from "../support/in-flight";
import { newTenant, type Tenant } from "../support/metered-tenant";
import { startTestGateway, type TestGateway } from "../support/test-gateway";
import { PAUSE_HEADER } from "../support/upstream-kit";
import { until } from "../support/wait";

let upstream: AiUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = await startAiUpstream({ flavor: "openai" });
  gateway = await startTestGateway("openai_limits", {
    UPSTREAM_URL: upstream.url,
    ROUTES: JSON.stringify([{ method: "POST", path: "/v1/chat/completions", route: "chat", tokens: true }]),
  });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  await upstream?.close();
});

const messages = [{ role: "user" as const, content: "say hello to the gateway please" }];
const served = (tenant: Tenant) => upstream.served.filter((s) => s.tenant === tenant.id).length;
const client = (tenant: Tenant, maxRetries: number) =>
  new OpenAI({ apiKey: tenant.key, baseURL: `${gateway.url}/v1`, maxRetries });

async function rateLimitError(call: Promise<unknown>): Promise<InstanceType<typeof OpenAI.RateLimitError>> {
  const err = await call.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OpenAI.RateLimitError);
  return err as InstanceType<typeof OpenAI.RateLimitError>;
}

describe("the openai client against the gateway's limits", () => {
  it("reads the request and token headers, raises RateLimitError, and with retries waits and succeeds", async () => {
    const tenant = await newTenant(gateway, "rpm", {
      requestsPerMinute: 60,
      requestBurst: 1,
      ratePerMinute: 100_000,
      burst: 100_000,
      dailyUnits: null,
    });
    const first = await client(tenant, 0).chat.completions.create({ model: "gpt-4.1", messages }).withResponse();
    expect(first.data.choices[0]?.message.content).toBe("Hello from the upstream!");
    const h = first.response.headers;
    expect(h.get("x-ratelimit-limit-requests")).toBe("1");
    expect(h.get("x-ratelimit-remaining-requests")).toBe("0");
    expect(h.get("x-ratelimit-reset-requests")).toBe("1s");
    expect(h.get("x-ratelimit-limit-tokens")).toBe("100000");
    // The reservation (prompt + the output allowance) is out until the call settles.
    expect(Number(h.get("x-ratelimit-remaining-tokens"))).toBeLessThan(100_000);
    expect(h.get("ratelimit-policy")).toBe('"chat";q=100000;w=60, "chat/requests";q=1;w=1');

    const refused = await rateLimitError(client(tenant, 0).chat.completions.create({ model: "gpt-4.1", messages }));
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(refused.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    expect(refused.error).toMatchObject({ "violated-policies": ["chat/requests"] });
    expect(served(tenant)).toBe(1);

    // With retries on, the client waits the Retry-After and the next try is admitted.
    const started = Date.now();
    const retried = await client(tenant, 3).chat.completions.create({ model: "gpt-4.1", messages });
    expect(retried.choices[0]?.message.content).toBe("Hello from the upstream!");
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(served(tenant)).toBe(2);
  });

  it("refuses a call past maxConcurrent without forwarding it, and an abandoned stream gives its slot back", async () => {
    const tenant = await newTenant(gateway, "concurrency", { burst: 1_000_000, ratePerMinute: 0, maxConcurrent: 1 });
    const held = await client(tenant, 0).chat.completions.create(
      { model: "gpt-4.1", messages, stream: true },
      { headers: { [PAUSE_HEADER]: "1" } },
    );
    const chunks = held[Symbol.asyncIterator]();
    expect((await chunks.next()).done).toBe(false);

    const refused = await rateLimitError(client(tenant, 0).chat.completions.create({ model: "gpt-4.1", messages }));
    expect(refused.error).toMatchObject({ "violated-policies": ["concurrency"] });
    expect(refused.headers.get("ratelimit")).toContain('"concurrency";r=0;t=1');
    expect(served(tenant)).toBe(1);

    // The client walks away mid-stream: the gateway learns it at its next write to the client
    // (the upstream goes on), the call settles, and its slot is free again.
    held.controller.abort();
    upstream.releasePaused();
    await until("the abandoned call's slot is back", async () => (await inFlight(gateway.url, tenant.key)) === 0);
    const next = await client(tenant, 0).chat.completions.create({ model: "gpt-4.1", messages });
    expect(next.choices[0]?.message.content).toBe("Hello from the upstream!");
  });
});
