// Benchmark: the cost of metering a streamed reply, in µs per MB, side by side with a plain
// pass-through of the same bytes. A 4 MB OpenAI-style stream (include_usage on, as the
// gateway asks for it) goes, in 16 KB chunks, through:
//   - pass:     a TransformStream that forwards each chunk (the floor);
//   - sniff:    the UsageSniffer the proxy feeds (parses only events that mention usage);
//   - sniff + strip: the sniffer and the stripper a client that did not ask for usage gets;
//   - sniff + count: the sniffer of a token route, which also keeps the output text, in case
//     the reply reports no usage (it parses every event).
//
//   npm run bench:metering        (BENCH_ROUNDS, BENCH_MB tune it)
//
// Rounds interleave the three; the summary gives medians and the added cost per MB.

import { usageStripper } from "../../src/core/stream-usage-option";
import { UsageSniffer } from "../../src/core/usage-sniffer";
import { median } from "./stats";

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9);
const MB = Number(process.env.BENCH_MB ?? 4);
const CHUNK = 16 * 1024;

/** An OpenAI-style stream of about `mb` MB: one-token content chunks, usage:null on each, a usage chunk at the end. */
function makeStream(mb: number): Uint8Array {
  const words = ["Hello", " world", ",", " the", " gateway", " meters", " this", " stream", "."];
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < mb * 1024 * 1024; i++) {
    const event = `data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":${JSON.stringify(words[i % words.length])}},"finish_reason":null}],"usage":null}\n\n`;
    parts.push(event);
    size += event.length;
  }
  parts.push(
    'data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":99,"total_tokens":109}}\n\ndata: [DONE]\n\n',
  );
  return new TextEncoder().encode(parts.join(""));
}

function source(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(at, at + CHUNK));
      at += CHUNK;
    },
  });
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<number> {
  let n = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return n;
    n += value.byteLength;
  }
}

function sniffing(collectOutput = false): TransformStream<Uint8Array, Uint8Array> {
  const sniffer = new UsageSniffer("text/event-stream", { collectOutput });
  return new TransformStream({
    transform(chunk, controller) {
      sniffer.push(chunk);
      controller.enqueue(chunk);
    },
    flush() {
      if (sniffer.finish().units !== 109) throw new Error("the sniffer missed the usage");
    },
  });
}

const methods: Record<string, (bytes: Uint8Array) => Promise<number>> = {
  pass: (b) => drain(source(b).pipeThrough(new TransformStream())),
  sniff: (b) => drain(source(b).pipeThrough(sniffing())),
  "sniff + strip": (b) => drain(source(b).pipeThrough(sniffing()).pipeThrough(usageStripper())),
  "sniff + count": (b) => drain(source(b).pipeThrough(sniffing(true))),
};

async function main() {
  const bytes = makeStream(MB);
  const mb = bytes.byteLength / (1024 * 1024);
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(methods).map((m) => [m, []]));
  for (const run of Object.values(methods)) await run(bytes); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, run] of Object.entries(methods)) {
      const start = performance.now();
      await run(bytes);
      times[name]?.push(((performance.now() - start) * 1000) / mb);
    }
  }
  const floor = median(times.pass ?? []);
  console.log(`metering a ${mb.toFixed(1)} MB stream in ${CHUNK / 1024} KB chunks, ${ROUNDS} rounds, medians:`);
  for (const [name, t] of Object.entries(times)) {
    const m = median(t);
    console.log(
      `  ${name.padEnd(14)} ${m.toFixed(0).padStart(7)} µs/MB   (+${(m - floor).toFixed(0)} µs/MB over pass)`,
    );
  }
}

await main();
