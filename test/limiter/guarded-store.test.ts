import { describe, expect, it, vi } from "vitest";
import { guardedStore } from "../../src/core/guarded-store";
import {
  type CheckRequest,
  type CheckResult,
  type LimiterStore,
  LimiterUnavailableError,
  TenantLoadError,
} from "../../src/core/limiter-store";
import { upstreamUrl } from "../../src/core/upstream-url";

// A store that is down in two ways: one call never answers, the others fail.
const down: LimiterStore = {
  check: () => new Promise(() => {}),
  settle: () => Promise.reject(new Error("connection reset")),
  limits: () => {
    throw new Error("synchronous failure");
  },
  record: () => Promise.reject(new Error("connection reset")),
  apply: () => Promise.resolve(),
};

/**
 * With the timers faked, `call` (a guarded call to a store that never answers) is still
 * pending 1 ms before `ms` and rejected at it as unavailable, with `message`.
 */
async function expectTimeoutAt(call: () => Promise<unknown> | undefined, ms: number, message: string) {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
  try {
    let outcome: unknown = "pending";
    void call()?.then(
      (value) => {
        outcome = { value };
      },
      (err: unknown) => {
        outcome = err;
      },
    );
    await vi.advanceTimersByTimeAsync(ms - 1);
    expect(outcome).toBe("pending");
    await vi.advanceTimersByTimeAsync(1);
    expect(outcome).toBeInstanceOf(LimiterUnavailableError);
    expect((outcome as Error).message).toBe(message);
  } finally {
    vi.useRealTimers();
  }
}

describe("guarded limiter store", () => {
  it("reports a store that does not answer in time as unavailable, within the bound", async () => {
    // The store never settles, so only the guard's timer can answer. With the timers faked
    // it moves only when told: still pending 1 ms before the bound, answered at it, and the
    // error names the bound (50 ms, the call timeout, not the 1 s load timeout).
    await expectTimeoutAt(
      () => guardedStore(down, 50, 1_000).check("t", { route: "default" }),
      50,
      "limiter check timed out after 50 ms",
    );
  });

  it("reports failures as unavailable, keeping the cause", async () => {
    const err = await guardedStore(down, 1_000, 1_000)
      .settle("t", "r", 1)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LimiterUnavailableError);
    expect((err as Error).message).toContain("connection reset");
    await expect(guardedStore(down, 1_000, 1_000).limits("t", { routes: [] })).rejects.toBeInstanceOf(
      LimiterUnavailableError,
    );
  });
});

/** A store whose tenant is cold until loaded, and whose load does what `loading` says. */
function coldStore(loading: () => Promise<void>, staleHeld: boolean) {
  const calls: string[] = [];
  let loaded = false;
  const ok: CheckResult = { status: "unauthenticated" }; // any answer that is not "cold"
  const store: LimiterStore = {
    ...down,
    check: async (_t, r: CheckRequest) => {
      calls.push(`check loadIfCold=${r.loadIfCold} allowStale=${r.allowStale ?? false}`);
      if (loaded || (r.allowStale && staleHeld)) return ok;
      return { status: "cold" };
    },
    load: async () => {
      calls.push("load");
      await loading();
      loaded = true;
    },
  };
  return { store, calls };
}

describe("guarded check of a cold tenant", () => {
  it("checks without loading, loads under the load bound, and checks again without loading", async () => {
    const { store, calls } = coldStore(async () => {}, false);
    expect(await guardedStore(store, 50, 1_000).check("t", { route: "r" })).toEqual({ status: "unauthenticated" });
    expect(calls).toEqual([
      "check loadIfCold=false allowStale=false",
      "load",
      "check loadIfCold=false allowStale=false",
    ]);
  });

  it("uses a config held past its refresh time when the reload fails", async () => {
    const { store, calls } = coldStore(() => Promise.reject(new Error("postgres down")), true);
    expect(await guardedStore(store, 50, 1_000).check("t", { route: "r" })).toEqual({ status: "unauthenticated" });
    expect(calls.at(-1)).toBe("check loadIfCold=false allowStale=true");
  });

  it("is a TenantLoadError, not an outage, when the load fails and nothing is held", async () => {
    const failing = coldStore(() => Promise.reject(new Error("postgres down")), false);
    const err = await guardedStore(failing.store, 50, 1_000)
      .check("t", { route: "r" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TenantLoadError);
    expect((err as Error).message).toContain("postgres down");
    const hanging = coldStore(() => new Promise<void>(() => {}), false);
    await expect(guardedStore(hanging.store, 50, 60).check("t", { route: "r" })).rejects.toBeInstanceOf(
      TenantLoadError,
    );
  });

  it("is an outage, not a load error, when the first check does not answer", async () => {
    const err = await guardedStore({ ...down, load: async () => {} }, 30, 1_000)
      .check("t", { route: "r" })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LimiterUnavailableError);
    expect(err).not.toBeInstanceOf(TenantLoadError);
  });
});

describe("guarded limiter store, settleMany", () => {
  it("bounds a batch as one settle, passes its results through, and adds no settleMany a store lacks", async () => {
    expect(guardedStore(down, 50, 1_000).settleMany).toBeUndefined();
    const answered = [{ status: "settled", units: 3 } as const, { status: "unknown" } as const];
    const batches: unknown[] = [];
    const ok = guardedStore(
      {
        ...down,
        settleMany: async (t, items) => {
          batches.push([t, items]);
          return answered;
        },
      },
      50,
      1_000,
    );
    const items = [
      { reservationId: "a", units: 3 },
      { reservationId: "b", units: 1 },
    ];
    expect(await ok.settleMany?.("t", items)).toEqual(answered);
    expect(batches).toEqual([["t", items]]);

    await expectTimeoutAt(
      () => guardedStore({ ...down, settleMany: () => new Promise(() => {}) }, 50, 1_000).settleMany?.("t", items),
      50,
      "limiter settle timed out after 50 ms",
    );
    const failing = guardedStore({ ...down, settleMany: () => Promise.reject(new Error("reset")) }, 1_000, 1_000);
    await expect(failing.settleMany?.("t", items)).rejects.toThrow(LimiterUnavailableError);
  });
});

describe("upstream URL", () => {
  it("joins the upstream's base path with the request's path and query", () => {
    expect(upstreamUrl("http://origin:9000", "/v1/chat", "?x=1")).toBe("http://origin:9000/v1/chat?x=1");
    expect(upstreamUrl("http://origin:9000/base/", "/v1/chat")).toBe("http://origin:9000/base/v1/chat");
    expect(upstreamUrl("https://origin/base", "/")).toBe("https://origin/base/");
  });
});
