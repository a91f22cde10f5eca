// Bounds every limiter call with a timeout and reports any failure as LimiterUnavailableError,
// so a slow or broken store is never mistaken for "limited".

import { describeError } from "./errors";
import {
  type LeaseReport,
  type LimiterStore,
  LimiterUnavailableError,
  type SettleItem,
  TenantLoadError,
} from "./limiter-store";
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

/**
 * The store with every call bounded by `timeoutMs`. A check that finds the tenant cold is
 * not one call but three: the check answers "cold" at once, the load gets `loadTimeoutMs`
 * of its own (so a slow first load is not taken for an outage), and the check runs again,
 * still without loading. If the load failed, that second check may use a config the
 * limiter holds past its refresh time (its keys verify as well as they did). A tenant still
 * cold after that is a TenantLoadError: its key cannot be verified.
 */
export function guardedStore(store: LimiterStore, timeoutMs: number, loadTimeoutMs: number): LimiterStore {
  const check: LimiterStore["check"] = (t, r) =>
    bounded(() => store.check(t, { ...r, deadline: r.deadline ?? Date.now() + timeoutMs }), timeoutMs, "limiter check");
  const load = store.load?.bind(store);
  const settleMany = store.settleMany?.bind(store);
  const reportLease = store.reportLease?.bind(store);
  return {
    check: async (t, r) => {
      if (!load || r.loadIfCold === false) return check(t, r);
      const first = await check(t, { ...r, loadIfCold: false });
      if (first.status !== "cold") return first;
      let failure: unknown;
      try {
        await withTimeout(
          (async () => load(t))(),
          loadTimeoutMs,
          () => new Error(`loading the tenant timed out after ${loadTimeoutMs} ms`),
        );
      } catch (err) {
        failure = err;
      }
      const again = await check(t, { ...r, loadIfCold: false, allowStale: failure !== undefined });
      if (again.status !== "cold") return again;
      const why = failure === undefined ? "it was cold again after its load" : describeError(failure);
      throw new TenantLoadError(`limiter load of tenant ${t} failed: ${why}`, { cause: failure });
    },
    settle: (t, id, u, m, d) => bounded(() => store.settle(t, id, u, m, d), timeoutMs, "limiter settle"),
    // One bound for the whole batch, as for one settle: it is one round trip.
    ...(settleMany
      ? {
          settleMany: (t: string, items: SettleItem[]) =>
            bounded(() => settleMany(t, items), timeoutMs, "limiter settle"),
        }
      : {}),
    ...(reportLease
      ? {
          reportLease: (t: string, report: LeaseReport) =>
            bounded(() => reportLease(t, report), timeoutMs, "limiter lease report"),
        }
      : {}),
    record: (t, r) => bounded(() => store.record(t, r), timeoutMs, "limiter record"),
    limits: (t, r) => bounded(() => store.limits(t, r), timeoutMs, "limiter limits"),
    apply: (s) => bounded(() => store.apply(s), timeoutMs, "limiter apply"),
    ...(load ? { load: (t: string) => bounded(() => load(t), loadTimeoutMs, "limiter load") } : {}),
  };
}
