// Bounds every limiter call with a timeout and reports any failure as LimiterUnavailableError,
// so a slow or broken store is never mistaken for "limited".

import { describeError } from "./errors";
import { type LimiterStore, LimiterUnavailableError } from "./limiter-store";
import { withTimeout } from "./timeout";

function bounded<T>(call: () => Promise<T>, timeoutMs: number, what: string): Promise<T> {
  const attempt = (async () => call())().catch((err: unknown) => {
    if (err instanceof LimiterUnavailableError) throw err;
    throw new LimiterUnavailableError(`${what} failed: ${describeError(err)}`, {
      cause: err,
    });
  });
  return withTimeout(attempt, timeoutMs, () => new LimiterUnavailableError(`${what} timed out after ${timeoutMs} ms`));
}

export function guardedStore(store: LimiterStore, timeoutMs: number): LimiterStore {
  return {
    check: (t, r) =>
      bounded(
        () => store.check(t, { ...r, deadline: r.deadline ?? Date.now() + timeoutMs }),
        timeoutMs,
        "limiter check",
      ),
    settle: (t, id, u, m) => bounded(() => store.settle(t, id, u, m), timeoutMs, "limiter settle"),
    record: (t, r) => bounded(() => store.record(t, r), timeoutMs, "limiter record"),
    limits: (t, r) => bounded(() => store.limits(t, r), timeoutMs, "limiter limits"),
    apply: (s) => bounded(() => store.apply(s), timeoutMs, "limiter apply"),
  };
}
