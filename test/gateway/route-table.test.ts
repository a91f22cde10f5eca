import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { matchRoute, routeKeys } from "../../src/core/route-table";

describe("route table", () => {
  const table = [
    { method: "POST", path: "/v1/chat/*", route: "chat", cost: 1 },
    { path: "/v1/embeddings", route: "embed", cost: 2 },
    { path: "/health", route: "health", public: true },
  ];

  it("matches by method and exact path or prefix, first rule first", () => {
    // injectStreamUsage: on by default for OpenAI-style completion paths, off elsewhere;
    // tokens: off unless a rule turns it on.
    const openAi = { injectStreamUsage: true, tokens: false };
    const other = { injectStreamUsage: false, tokens: false };
    expect(matchRoute(table, "POST", "/v1/chat/completions")).toEqual({
      route: "chat",
      cost: 1,
      public: false,
      ...openAi,
    });
    expect(matchRoute(table, "post", "/v1/chat")).toEqual({ route: "chat", cost: 1, public: false, ...other });
    expect(matchRoute(table, "GET", "/v1/chat/completions")).toEqual({ route: "default", public: false, ...openAi });
    expect(matchRoute(table, "POST", "/v1/chatty")).toEqual({ route: "default", public: false, ...other });
    expect(matchRoute(table, "GET", "/v1/embeddings")).toEqual({
      route: "embed",
      cost: 2,
      public: false,
      ...other,
      maxTokens: 0,
    });
    expect(matchRoute(table, "GET", "/v1/embeddings/x")).toEqual({ route: "default", public: false, ...other });
    expect(matchRoute(table, "GET", "/health")).toEqual({ route: "health", cost: undefined, public: true, ...other });
  });

  it("makes token routes of the rules that say so, for calls with a body, with no output reserved for embeddings", () => {
    const rules = [
      { path: "/v1/messages", route: "messages", tokens: true, maxTokens: 1024 },
      { path: "/v1/responses/*", route: "responses", tokens: true },
      { path: "/v1/embeddings", route: "embed", tokens: true },
      { path: "/v1/chat/completions", route: "chat" },
    ];
    const pick = (method: string, path: string) => {
      const m = matchRoute(rules, method, path);
      return [m.route, m.tokens, m.maxTokens];
    };
    expect(pick("POST", "/v1/messages")).toEqual(["messages", true, 1024]);
    expect(pick("POST", "/v1/responses")).toEqual(["responses", true, undefined]);
    // Reading a stored response has no body to estimate.
    expect(pick("GET", "/v1/responses/resp_1")).toEqual(["responses", false, undefined]);
    expect(pick("POST", "/v1/embeddings")).toEqual(["embed", true, 0]);
    expect(pick("POST", "/v1/chat/completions")).toEqual(["chat", false, undefined]);
    expect(pick("POST", "/v1/other")).toEqual(["default", false, undefined]);
  });

  it("asks streams for usage on OpenAI-style paths unless a rule says otherwise", () => {
    const rules = [
      { path: "/v1/completions", route: "legacy" },
      { path: "/v1/chat/completions", route: "chat", injectStreamUsage: false },
      { path: "/custom/stream", route: "custom", injectStreamUsage: true },
    ];
    expect(matchRoute(rules, "POST", "/v1/completions").injectStreamUsage).toBe(true);
    expect(matchRoute(rules, "POST", "/v1/chat/completions").injectStreamUsage).toBe(false);
    expect(matchRoute(rules, "POST", "/custom/stream").injectStreamUsage).toBe(true);
    expect(matchRoute(rules, "POST", "/openai/deployments/d/chat/completions").injectStreamUsage).toBe(true);
    expect(matchRoute(rules, "POST", "/v1/messages").injectStreamUsage).toBe(false);
  });

  it("matches a trailing slash as the bare path", () => {
    expect(matchRoute(table, "GET", "/v1/embeddings/").route).toBe("embed");
    expect(matchRoute(table, "POST", "/v1/chat/").route).toBe("chat");
    expect(matchRoute(table, "GET", "/").route).toBe("default");
  });

  it("lists the limited route keys, default first", () => {
    expect(routeKeys(table)).toEqual(["default", "chat", "embed"]);
  });
});

describe("configuration", () => {
  it("applies defaults", () => {
    const c = loadConfig({});
    expect(c.DEFAULT_RATE_LIMIT_PER_MIN).toBe(60);
    expect(c.RATE_LIMIT_BURST).toBe(60);
    expect(c.DEFAULT_DAILY_QUOTA_UNITS).toBe(100_000);
    expect(c.LIMITER_FAILURE_MODE).toBe("closed");
    expect(c.DEFAULT_TIME_ZONE).toBe("UTC");
    expect(c.ROUTES).toEqual([]);
    expect([c.DEFAULT_MAX_TOKENS, c.TOKEN_ROUTE_MAX_BODY_BYTES, c.PROMPT_TOKENIZER]).toEqual([
      4096,
      8 * 1024 * 1024,
      "tokenizer",
    ]);
  });

  it("names the variable at fault", () => {
    expect(() => loadConfig({ LIMITER_FAILURE_MODE: "sometimes" })).toThrow(/LIMITER_FAILURE_MODE/);
    expect(() => loadConfig({ ROUTES: "[{" })).toThrow(/ROUTES: must be a JSON array/);
    expect(() => loadConfig({ ROUTES: '[{"path":"/x","route":"daily"}]' })).toThrow(/daily/);
    expect(() => loadConfig({ ADMIN_TOKEN: "short" })).toThrow(/ADMIN_TOKEN/);
    expect(() => loadConfig({ DEFAULT_DAILY_QUOTA_UNITS: "-5" })).toThrow(/DEFAULT_DAILY_QUOTA_UNITS/);
    expect(() => loadConfig({ DEFAULT_TIME_ZONE: "Nowhere/Land" })).toThrow(/DEFAULT_TIME_ZONE/);
    expect(() => loadConfig({ PROMPT_TOKENIZER: "words" })).toThrow(/PROMPT_TOKENIZER/);
    expect(() => loadConfig({ TOKEN_ROUTE_MAX_BODY_BYTES: "10" })).toThrow(/TOKEN_ROUTE_MAX_BODY_BYTES/);
    expect(() => loadConfig({ ROUTES: '[{"path":"/x","route":"x","maxTokens":-1}]' })).toThrow(/ROUTES/);
  });

  it("checks the billing settings", () => {
    expect(loadConfig({}).BILLING_CURRENCY).toBe("USD");
    expect(loadConfig({ BILLING_CURRENCY: "huf" }).BILLING_CURRENCY).toBe("HUF");
    expect(() => loadConfig({ BILLING_CURRENCY: "ABC" })).toThrow(/BILLING_CURRENCY/);
    expect(() => loadConfig({ BILLING_CURRENCY: "XAU" })).toThrow(/BILLING_CURRENCY/);
    expect(() => loadConfig({ BILLING_UNIT_COST: "1e-6" })).toThrow(/BILLING_UNIT_COST/);
    expect(() => loadConfig({ BILLING_WEBHOOK_URL: "https://billing.example/hooks" })).toThrow(
      /BILLING_WEBHOOK_SECRET/,
    );
    expect(() => loadConfig({ BILLING_WEBHOOK_SECRET: "whsec_short" })).toThrow(/BILLING_WEBHOOK_SECRET/);
    const secret = `whsec_${btoa("a".repeat(32))}`;
    expect(loadConfig({ BILLING_WEBHOOK_SECRET: `${secret} ${secret}` }).BILLING_WEBHOOK_SECRET).toEqual([
      secret,
      secret,
    ]);
  });

  it("treats empty strings as unset and 'none' as no daily limit", () => {
    const c = loadConfig({ UPSTREAM_URL: "", DEFAULT_DAILY_QUOTA_UNITS: "none", RATE_LIMIT_BURST: "7" });
    expect(c.UPSTREAM_URL).toBeUndefined();
    expect(c.DEFAULT_DAILY_QUOTA_UNITS).toBeNull();
    expect(c.RATE_LIMIT_BURST).toBe(7);
  });
});
