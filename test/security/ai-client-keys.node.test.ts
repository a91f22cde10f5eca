// A tenant's key from the headers AI clients send: the official `openai` client
// (Authorization: Bearer), `@anthropic-ai/sdk` with an API key (x-api-key) and openai's
// AzureOpenAI client (api-key), each through the self-hosted gateway to an upstream that
// echoes what it got. Each is admitted as the tenant, none of the three headers reaches the
// upstream, and two different keys in one request are refused.

import Anthropic from "@anthropic-ai/sdk";
import OpenAI, { AzureOpenAI } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../support/test-gateway";

let gateway: TestGateway;
let server: TestGateway["server"];
let tenant: { id: string; key: string };

type Echo = { echo: { url: string; headers: Record<string, string> } };

beforeAll(async () => {
  gateway = await startTestGateway("ai_client_keys", { KEY_SIGNING_SECRET: "ai-client-keys-signing-secret-0123456" });
  server = gateway.server;
  const admin = (path: string, body: unknown) =>
    fetch(`${server.url}/admin/v1${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${gateway.token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    }).then((r) => r.json() as Promise<Record<string, string>>);
  const created = await admin("/tenants", { name: "ai", quota: { ratePerMinute: 0, burst: 100, dailyUnits: null } });
  const key = await admin(`/tenants/${created.id}/keys`, {});
  tenant = { id: String(created.id), key: String(key.key) };
}, 60_000);

afterAll(async () => gateway?.stop());

/** What the upstream saw of the gateway's headers and the three key headers. */
function seen(echo: Echo) {
  const h = echo.echo.headers;
  return {
    tenant: h["aegis-tenant-id"],
    keys: [h.authorization, h["x-api-key"], h["api-key"]].filter((v) => v !== undefined),
  };
}

describe("keys from the headers AI clients send", () => {
  it("openai (Authorization: Bearer)", async () => {
    const client = new OpenAI({ apiKey: tenant.key, baseURL: `${server.url}/v1`, maxRetries: 0 });
    const { data, response } = await client.chat.completions
      .create({ model: "m", messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    expect(response.status).toBe(200);
    expect(response.headers.get("ratelimit")).toMatch(/r=\d+/);
    expect(seen(data as unknown as Echo)).toEqual({ tenant: tenant.id, keys: [] });
  });

  it("@anthropic-ai/sdk with an API key (x-api-key)", async () => {
    const client = new Anthropic({ apiKey: tenant.key, baseURL: server.url, maxRetries: 0 });
    const { data, response } = await client.messages
      .create({ model: "m", max_tokens: 8, messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    expect(response.status).toBe(200);
    const sent = (data as unknown as Echo).echo;
    expect(sent.url).toBe("/v1/messages");
    expect(seen(data as unknown as Echo)).toEqual({ tenant: tenant.id, keys: [] });
  });

  it("AzureOpenAI (api-key)", async () => {
    const client = new AzureOpenAI({
      apiKey: tenant.key,
      endpoint: server.url,
      apiVersion: "2024-10-21",
      deployment: "d",
      maxRetries: 0,
    });
    const { data, response } = await client.chat.completions
      .create({ model: "m", messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    expect(response.status).toBe(200);
    expect((data as unknown as Echo).echo.url).toMatch(/^\/openai\/deployments\/d\/chat\/completions\?/);
    expect(seen(data as unknown as Echo)).toEqual({ tenant: tenant.id, keys: [] });
  });

  it("reads /account/v1 with any of the three, and refuses two different keys in one request", async () => {
    for (const headers of <Record<string, string>[]>[
      { authorization: `Bearer ${tenant.key}` },
      { "x-api-key": tenant.key },
      { "api-key": tenant.key },
      // The same key twice is one key.
      { authorization: `Bearer ${tenant.key}`, "x-api-key": tenant.key },
      // A non-bearer Authorization (for a proxy on the way) is not a key.
      { authorization: "Basic dXNlcjpwYXNz", "x-api-key": tenant.key },
    ]) {
      const res = await fetch(`${server.url}/account/v1/limits`, { headers });
      expect(res.status, JSON.stringify(Object.keys(headers))).toBe(200);
      expect(((await res.json()) as { tenantId: string }).tenantId).toBe(tenant.id);
    }
    const other = `ak_${tenant.id}_${"A".repeat(32)}`;
    const conflicting = await fetch(`${server.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${tenant.key}`, "api-key": other },
    });
    expect(conflicting.status).toBe(401);
    expect(((await conflicting.json()) as { detail: string }).detail).toBe(
      "the request carries different API keys in authorization, api-key; send one",
    );
    const none = await fetch(`${server.url}/v1/chat/completions`, { method: "POST" });
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toBe('Bearer realm="aegis-edge"');
  });
});
