// A closed-loop load generator: `inFlight` workers, each starting its next call as soon as
// its last one settles, so exactly that many calls are outstanding. Bounded twice: by a call
// count and by a wall-clock cap, whichever comes first.

export interface ClosedLoopOptions {
  calls: number;
  inFlight: number;
  maxMs: number;
  /** Stops the workers early (Ctrl-C); the result then covers the calls made. */
  signal?: AbortSignal;
}

export interface ClosedLoopResult {
  /** Calls that resolved (admitted or denied). */
  completed: number;
  admitted: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** The wall-clock cap ended the run before the call count did. */
  capped: boolean;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;
}

/**
 * Runs `call(i)` for i = 0, 1, ... and times each call from its start to its settling, so a
 * latency includes the wait behind the other calls in flight, as a real caller would see it.
 * `call` resolves true when the call was admitted. The first error stops every worker and is
 * rethrown: a benchmark that quietly counts failures as fast answers would flatter the result.
 */
export async function closedLoop(
  call: (i: number) => Promise<boolean>,
  options: ClosedLoopOptions,
): Promise<ClosedLoopResult> {
  const { calls, inFlight, maxMs, signal } = options;
  const latencies = new Float64Array(calls);
  let next = 0;
  let completed = 0;
  let admitted = 0;
  let failure: { error: unknown } | undefined;
  const start = performance.now();
  const deadline = start + maxMs;

  const worker = async () => {
    while (failure === undefined && next < calls && performance.now() < deadline && !signal?.aborted) {
      const i = next++;
      const t0 = performance.now();
      try {
        if (await call(i)) admitted++;
        latencies[completed++] = performance.now() - t0;
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const seconds = (performance.now() - start) / 1000;
  if (failure) throw failure.error;

  const sorted = latencies.subarray(0, completed).sort();
  return {
    completed,
    admitted,
    seconds,
    perSecond: completed / seconds,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    capped: completed < calls,
  };
}
