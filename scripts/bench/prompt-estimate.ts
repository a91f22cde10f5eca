// Benchmark: what the prompt estimate of a token route costs per request, side by side for
// the two ways a prompt is counted, on chat requests of three sizes:
//   - bytes/4:  a model with no known tokenizer (the request is parsed and its text summed);
//   - o200k:    an OpenAI model of the GPT-4o family and later, counted with gpt-tokenizer;
//   - cl100k:   a GPT-4 / 3.5 model, counted with gpt-tokenizer's older encoding.
// Each figure is readTokenCall() as the gateway runs it: reading the body from a Request,
// parsing it, finding the prompt and counting it. The prompts are slices of this repository's
// docs, at a different offset each time, so the tokenizer's cache does not flatter it. The
// first load of each encoding (once per process or isolate) is reported apart.
//
//   npm run bench:prompt-estimate     (BENCH_ROUNDS, BENCH_CALLS tune it)
//
// Rounds interleave the scenarios; the summary gives medians, in µs per request.

import { readFileSync } from "node:fs";
import path from "node:path";
import { loadConfig } from "../../src/config";
import { counterFor } from "../../src/core/tokenizer";
import { readTokenCall } from "../../src/http/token-call";
import { median } from "./stats";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const CALLS = Number(process.env.BENCH_CALLS ?? 40);
const ROOT = path.resolve(import.meta.dirname, "../..");
const SIZES = [1_000, 10_000, 100_000];
const MODELS = { "bytes/4": "llama-3.1-8b", o200k: "gpt-4o", cl100k: "gpt-4-turbo" } as const;
type Scenario = keyof typeof MODELS;

const corpus = ["README.md", "docs/http-api.md", "docs/architecture.md", "BENCHMARKS.md"]
  .map((f) => readFileSync(path.join(ROOT, f), "utf8"))
  .join("\n")
  .repeat(4);
const config = loadConfig({});
const route = { route: "chat", public: false, injectStreamUsage: false, tokens: true };

function request(model: string, chars: number, i: number): Request {
  const at = (i * 7_919) % (corpus.length - chars);
  const text = corpus.slice(at, at + chars);
  const body = JSON.stringify({
    model,
    max_tokens: 256,
    messages: [
      { role: "system", content: "You answer questions about the gateway." },
      { role: "user", content: text },
    ],
  });
  return new Request("http://bench/v1/chat/completions", { method: "POST", body });
}

/** µs per request over CALLS requests of one size and model. */
async function timeCalls(model: string, chars: number, round: number): Promise<number> {
  const requests = Array.from({ length: CALLS }, (_, i) => request(model, chars, round * CALLS + i));
  const start = performance.now();
  for (const req of requests) await readTokenCall(req, route, config);
  return ((performance.now() - start) * 1000) / CALLS;
}

async function main(): Promise<void> {
  console.log(`prompt estimate: ${ROUNDS} rounds x ${CALLS} requests per size and scenario (node ${process.version})`);
  for (const [name, model] of Object.entries(MODELS)) {
    const start = performance.now();
    await counterFor(model, "tokenizer");
    console.log(`  first use of ${name.padEnd(7)} (loads its encoding): ${(performance.now() - start).toFixed(0)} ms`);
  }
  // One warm-up round, not counted: JIT and caches.
  for (const chars of SIZES) for (const model of Object.values(MODELS)) await timeCalls(model, chars, 0);
  const results = new Map<string, number[]>();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const chars of SIZES) {
      for (const [name, model] of Object.entries(MODELS) as [Scenario, string][]) {
        const key = `${chars}:${name}`;
        results.set(key, [...(results.get(key) ?? []), await timeCalls(model, chars, round)]);
      }
    }
  }
  console.log("\nmedian µs per request (prompt of N characters; ratio to bytes/4)");
  console.log(`${"prompt".padEnd(14)}${"bytes/4".padStart(10)}${"o200k".padStart(18)}${"cl100k".padStart(18)}`);
  for (const chars of SIZES) {
    const m = (s: Scenario) => median(results.get(`${chars}:${s}`) ?? []);
    const base = m("bytes/4");
    const cell = (s: Scenario) => `${m(s).toFixed(0)} (${(m(s) / base).toFixed(1)}x)`.padStart(18);
    console.log(
      `${`${chars.toLocaleString("en")} chars`.padEnd(14)}${base.toFixed(0).padStart(10)}${cell("o200k")}${cell("cl100k")}`,
    );
  }
}

await main();
