// Work that outlives a response (settling a streamed call, closing handles), given to the
// gateway as Workers' `waitUntil`: tracked, so that a shutdown waits for it instead of
// dropping usage.

import { withTimeout } from "../core/timeout";

export interface BackgroundWork {
  /** What the gateway's fetch gets as its ExecutionContext. */
  executionCtx: { waitUntil(p: Promise<unknown>): void; passThroughOnException(): void; props: object };
  /** The work still running. */
  pending: Set<Promise<unknown>>;
}

export function backgroundWork(onError: (err: unknown) => void): BackgroundWork {
  const pending = new Set<Promise<unknown>>();
  const executionCtx = {
    waitUntil(p: Promise<unknown>) {
      const tracked = p.catch(onError).finally(() => {
        pending.delete(tracked);
      });
      pending.add(tracked);
    },
    passThroughOnException() {},
    props: {},
  };
  return { executionCtx, pending };
}

/** Waits for `promises` to settle, or `ms`, whichever comes first; true if they settled. */
export function settledWithin(promises: (Promise<unknown> | null)[], ms: number): Promise<boolean> {
  return withTimeout(Promise.allSettled(promises), ms, () => new Error(`not settled in ${ms} ms`)).then(
    () => true,
    () => false,
  );
}
