// Conservation over a mixed run: plain, streamed (asking for usage or not), aborted and
// concurrent calls, on token routes, through the self-hosted gateway to an OpenAI-like and
// an Anthropic-like upstream. Every token an upstream reported is metered, per dimension,
// and nothing is counted twice: the stored totals equal what the upstreams served.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AiUpstream, startAiUpstream } from "../support/ai-upstream";
import { type AnthropicUpstream, startAnthropicUpstream } from "../support/anthropic-upstream";
import { newTenant, storedUsage, type Tenant } from "../support/metered-tenant";
import { startTestGateway, type TestGateway } from "../support/test-gateway";
import { PAUSE_HEADER } from "../support/upstream-kit";

let openai: AiUpstream;
let anthropic: AnthropicUpstream;
let viaOpenAi: TestGateway;
let viaAnthropic: TestGateway;

const token = (path: string, route: string) => ({ method: "POST", path, route, tokens: true });

beforeAll(async () => {
  [openai, anthropic] = await Promise.all([startAiUpstream({ flavor: "openai" }), startAnthropicUpstream()]);
  const routes = JSON.stringify([
    token("/v1/chat/completions", "chat"),
    token("/v1/responses", "responses"),
    token("/v1/embeddings", "embed"),
    token("/v1/messages", "messages"),
  ]);
  [viaOpenAi, viaAnthropic] = await Promise.all([
    startTestGateway("conserve_oai", { UPSTREAM_URL: openai.url, ROUTES: routes }),
    startTestGateway("conserve_ant", { UPSTREAM_URL: anthropic.url, ROUTES: routes }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.all([viaOpenAi?.stop(), viaAnthropic?.stop()]);
  await Promise.all([openai?.close(), anthropic?.close()]);
});

type Kind = "plain" | "stream" | "stream+usage" | "aborted";

/**
 * One call; an aborted one reads the first event of its stream, then leaves, while the
 * upstream holds the rest until the test lets it go. Returns the status.
 */
async function send(gateway: TestGateway, tenant: Tenant, path: string, body: object, kind: Kind): Promise<number> {
  const streamed = kind !== "plain";
  const controller = new AbortController();
  const res = await fetch(`${gateway.url}${path}`, {
    method: "POST",
    headers: {
      "x-api-key": tenant.key,
      "content-type": "application/json",
      ...(kind === "aborted" ? { [PAUSE_HEADER]: "1" } : {}),
    },
    body: JSON.stringify({
      ...body,
      ...(streamed ? { stream: true } : {}),
      ...(kind === "stream+usage" ? { stream_options: { include_usage: true } } : {}),
    }),
    signal: controller.signal,
  });
  const reader = res.body?.getReader();
  if (kind === "aborted") {
    const first = new TextDecoder().decode((await reader?.read())?.value);
    // Only the first event reached the client: nothing of the usage at the end.
    expect(first).not.toMatch(/"choices"\s*:\s*\[\]|message_delta|response\.completed/);
    controller.abort();
    return res.status;
  }
  while (reader && !(await reader.read()).done) {
    // read to the end, as a client does
  }
  return res.status;
}

type Served = { input: number; output: number; cached: number };

/** The stored totals are exactly the sum of what the upstream served, and none of it estimated. */
function expectConserved(totals: object, served: Served[]): void {
  const sum = (k: keyof Served) => served.reduce((n, s) => n + s[k], 0);
  expect(totals).toEqual({
    requests: served.length,
    inputTokens: sum("input"),
    outputTokens: sum("output"),
    cachedInputTokens: sum("cached"),
    units: sum("input") + sum("output"),
    estimatedRequests: 0,
    estimatedUnits: 0,
  });
}

const KINDS: Kind[] = ["plain", "stream", "stream+usage", "aborted"];
const user = (i: number) => [{ role: "user", content: `call number ${i} please answer in a few words` }];

describe("conservation over a mixed run", () => {
  it("OpenAI-like: chat, Responses and embeddings, plain, streamed and aborted, 48 at once", async () => {
    const tenant = await newTenant(viaOpenAi, "mixed openai");
    const calls = Array.from({ length: 48 }, (_, i) => {
      const kind = KINDS[i % 4] as Kind;
      const model = i % 3 === 0 ? "gpt-4o" : "gpt-4.1-mini";
      const system = i % 2 === 0 ? [{ role: "system", content: "you are terse and cached" }] : [];
      if (i % 8 === 5)
        return send(
          viaOpenAi,
          tenant,
          "/v1/embeddings",
          { model: "text-embedding-3-small", input: `text ${i}` },
          "plain",
        );
      if (i % 8 === 6) {
        const responsesKind = kind === "stream+usage" ? "stream" : kind;
        return send(
          viaOpenAi,
          tenant,
          "/v1/responses",
          { model, instructions: "be brief", input: `question ${i}` },
          responsesKind,
        );
      }
      return send(viaOpenAi, tenant, "/v1/chat/completions", { model, messages: [...system, ...user(i)] }, kind);
    });
    expect(new Set(await Promise.all(calls))).toEqual(new Set([200]));
    // The clients that left are gone; the upstream finishes their streams now.
    openai.releasePaused();

    const served = openai.served.filter((s) => s.tenant === tenant.id);
    expect(served).toHaveLength(48);
    const usage = await storedUsage(viaOpenAi, tenant, 48);
    expectConserved(
      usage.totals,
      served.map((s) => ({ input: s.promptTokens, output: s.completionTokens, cached: s.cachedTokens })),
    );
    // And per model: each call's tokens under the model its reply named.
    const perModel = (rows: { model: string | null; units: number }[]) => {
      const sums: Record<string, number> = {};
      for (const r of rows) sums[String(r.model)] = (sums[String(r.model)] ?? 0) + r.units;
      return sums;
    };
    const servedUnits = served.map((s) => ({ model: s.model, units: s.promptTokens + s.completionTokens }));
    expect(perModel(usage.days)).toEqual(perModel(servedUnits));
  }, 60_000);

  it("Anthropic-like: messages plain, streamed and aborted, 24 at once", async () => {
    const tenant = await newTenant(viaAnthropic, "mixed anthropic");
    const calls = Array.from({ length: 24 }, (_, i) => {
      const kind = i % 3 === 0 ? "plain" : i % 3 === 1 ? "stream" : "aborted";
      const body = {
        model: i % 2 ? "claude-sonnet-4-5" : "claude-haiku-4-5",
        max_tokens: 256,
        system: "be brief",
        messages: user(i),
      };
      return send(viaAnthropic, tenant, "/v1/messages", body, kind);
    });
    expect(new Set(await Promise.all(calls))).toEqual(new Set([200]));
    anthropic.releasePaused();
    const served = anthropic.served.filter((s) => s.tenant === tenant.id);
    expect(served).toHaveLength(24);
    const usage = await storedUsage(viaAnthropic, tenant, 24);
    expectConserved(
      usage.totals,
      served.map((s) => ({
        input: s.inputTokens + s.cacheReadTokens + s.cacheCreationTokens,
        output: s.outputTokens,
        cached: s.cacheReadTokens,
      })),
    );
  }, 60_000);
});
