// Reading a token route's call before it is limited: whatever the body, an estimate and
// never a throw; the output allowance times the completions asked for; a tokenizer that
// cannot be made to spend quadratic time on one long run.

import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { withStreamUsage } from "../../src/core/stream-usage-option";
import { counterFor, LONGEST_TOKENIZED_RUN } from "../../src/core/tokenizer";
import { readTokenCall } from "../../src/http/token-call";

const config = loadConfig({ DEFAULT_MAX_TOKENS: "100" });
const route = { route: "chat", public: false, injectStreamUsage: true, tokens: true };
const post = (body: BodyInit) => new Request("http://gateway.test/v1/chat/completions", { method: "POST", body });

/** `{"tools": [[[ ... ]]]}` nested `depth` deep: JSON.parse reads it, JSON.stringify overflows the stack. */
const deep = (depth: number) => `{"model":"gpt-4o","stream":true,"tools":${"[".repeat(depth)}${"]".repeat(depth)}}`;

describe("readTokenCall", () => {
  it("estimates a body too deep to serialize at its bytes/4, without throwing", async () => {
    const body = deep(200_000);
    expect(() => JSON.stringify(JSON.parse(body))).toThrow(RangeError);
    const call = await readTokenCall(post(body), route, config);
    expect(call.inputTokens).toBe(Math.ceil(body.length / 4));
    expect(call.maxOutputTokens).toBe(100);
    // Nor does asking it for its stream's usage throw: it is forwarded as it came.
    expect(withStreamUsage(body)).toBeNull();
  });

  it("estimates a body that is not JSON at its bytes/4, counting bytes, not decoded characters", async () => {
    const call = await readTokenCall(post(new Uint8Array(4000).fill(0xff)), route, config);
    expect(call.inputTokens).toBe(1000);
    expect(call.model).toBeNull();
  });

  it("answers a body the client broke off with a 400 problem, not a 500", async () => {
    const broken = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode('{"model":'));
        c.error(new TypeError("terminated"));
      },
    });
    const req = new Request("http://gateway.test/v1/chat/completions", {
      method: "POST",
      body: broken,
      duplex: "half",
    } as RequestInit);
    await expect(readTokenCall(req, route, config)).rejects.toMatchObject({ status: 400, code: "invalid-request" });
  });

  it("reserves the output allowance once per completion asked for (n, best_of)", async () => {
    const ask = async (extra: object) =>
      (await readTokenCall(post(JSON.stringify({ model: "m", prompt: "hi", max_tokens: 50, ...extra })), route, config))
        .maxOutputTokens;
    expect(await ask({})).toBe(50);
    expect(await ask({ n: 3 })).toBe(150);
    expect(await ask({ n: 2, best_of: 5 })).toBe(250);
    expect(await ask({ n: 0 })).toBe(50);
    expect(await ask({ n: "9" })).toBe(50);
  });
});

describe("the tokenizer's counter", () => {
  it("counts a run of more than LONGEST_TOKENIZED_RUN characters without a space at bytes/4", async () => {
    const { count } = await counterFor("gpt-4o", "tokenizer");
    const run = "ab".repeat(50_000);
    expect(count(run)).toBe(25_000);
    // A run at the bound is tokenized (o200k merges it to 32 tokens, bytes/4 would say 64);
    // one character more, and it is counted at bytes/4.
    expect(count("abcdefgh".repeat(LONGEST_TOKENIZED_RUN / 8))).toBe(32);
    expect(count("abcdefgh".repeat(LONGEST_TOKENIZED_RUN / 8 + 1))).toBe((LONGEST_TOKENIZED_RUN + 8) / 4);
    expect(count(`hello ${run} world`)).toBe(25_000 + count("hello  world"));
  });
});
