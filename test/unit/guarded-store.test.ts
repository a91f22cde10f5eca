import { describe, expect, it } from "vitest";
import { guardedStore } from "../../src/core/guarded-store";
import { type LimiterStore, LimiterUnavailableError } from "../../src/core/limiter-store";
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

describe("guarded limiter store", () => {
  it("reports a store that does not answer in time as unavailable, within the bound", async () => {
    const started = performance.now();
    await expect(guardedStore(down, 50).check("t", { route: "default" })).rejects.toBeInstanceOf(
      LimiterUnavailableError,
    );
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it("reports failures as unavailable, keeping the cause", async () => {
    const err = await guardedStore(down, 1_000)
      .settle("t", "r", 1)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LimiterUnavailableError);
    expect((err as Error).message).toContain("connection reset");
    await expect(guardedStore(down, 1_000).limits("t", { routes: [] })).rejects.toBeInstanceOf(LimiterUnavailableError);
  });
});

describe("upstream URL", () => {
  it("joins the upstream's base path with the request's path and query", () => {
    expect(upstreamUrl("http://origin:9000", "/v1/chat", "?x=1")).toBe("http://origin:9000/v1/chat?x=1");
    expect(upstreamUrl("http://origin:9000/base/", "/v1/chat")).toBe("http://origin:9000/base/v1/chat");
    expect(upstreamUrl("https://origin/base", "/")).toBe("https://origin/base/");
  });
});
