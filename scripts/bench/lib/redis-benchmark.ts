// Runs the `redis-benchmark` binary and reads its -q summary line.

import { execFile } from "node:child_process";

export interface RedisBenchmarkResult {
  perSecond: number;
  /** redis-benchmark's own p50, in ms (it reports no p99 in -q mode). */
  p50Ms: number | null;
}

function run(args: string[], timeoutMs: number, signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    // A timeout because redis-benchmark never gives up on a server it cannot reach.
    execFile("redis-benchmark", args, { timeout: timeoutMs, killSignal: "SIGKILL", signal }, (err, stdout, stderr) => {
      if (err) {
        const why =
          (err as NodeJS.ErrnoException).code === "ENOENT"
            ? "redis-benchmark is not on PATH (it ships with the redis-tools / redis package)"
            : err.killed
              ? `redis-benchmark did not finish within ${timeoutMs} ms`
              : `redis-benchmark failed: ${err.message}`;
        reject(new Error(`${why}${stderr ? `\n${stderr.trim()}` : ""}`));
      } else resolve(stdout);
    });
  });
}

/** Its version line, which also proves the binary is there. */
export async function redisBenchmarkVersion(): Promise<string> {
  return (await run(["--version"], 10_000)).trim();
}

/** Runs `redis-benchmark ...args` (which must include -q) and parses "N requests per second, p50=M msec". */
export async function redisBenchmark(
  args: string[],
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<RedisBenchmarkResult> {
  const out = await run(args, timeoutMs, signal);
  // -q still draws a progress line ending in \r before the summary; the summary is the last match.
  const matches = [...out.matchAll(/([\d.]+) requests per second(?:, p50=([\d.]+) msec)?/g)];
  const last = matches.at(-1);
  if (!last) throw new Error(`could not find "requests per second" in redis-benchmark's output:\n${out}`);
  return { perSecond: Number(last[1]), p50Ms: last[2] === undefined ? null : Number(last[2]) };
}
