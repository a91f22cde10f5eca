// The one logger: a JSON line per entry, level and message first, errors and warnings on
// stderr, the rest on stdout, and a child's fields on every entry it writes.

import { afterEach, describe, expect, it, vi } from "vitest";
import { createLogger, log } from "../../src/core/log";

afterEach(() => vi.restoreAllMocks());

function capture() {
  const lines: { stream: string; entry: Record<string, unknown> }[] = [];
  for (const [method, stream] of [
    ["error", "stderr"],
    ["warn", "stderr"],
    ["log", "stdout"],
  ] as const) {
    vi.spyOn(console, method).mockImplementation((line: unknown) => {
      lines.push({ stream, entry: JSON.parse(String(line)) });
    });
  }
  return lines;
}

describe("log", () => {
  it("writes one JSON line per entry, on the stream its level belongs to", () => {
    const lines = capture();
    log.error("limiter unavailable", { tenant: "tnaaaaaaaaaaaaaaaa", failureMode: "closed" });
    log.warn("no signing secret");
    log.info("billing tick", { invoices: 3 });
    log.debug("detail");
    expect(lines).toEqual([
      {
        stream: "stderr",
        entry: { level: "error", msg: "limiter unavailable", tenant: "tnaaaaaaaaaaaaaaaa", failureMode: "closed" },
      },
      { stream: "stderr", entry: { level: "warn", msg: "no signing secret" } },
      { stream: "stdout", entry: { level: "info", msg: "billing tick", invoices: 3 } },
      { stream: "stdout", entry: { level: "debug", msg: "detail" } },
    ]);
    expect(Object.keys(lines[0]?.entry ?? {}).slice(0, 2)).toEqual(["level", "msg"]);
  });

  it("puts a child's fields on every entry, under the entry's own", () => {
    const lines = capture();
    const child = createLogger({ service: "gateway" }).child({ requestId: "r1" });
    child.error("failed", { requestId: "r2", code: 7 });
    child.info("ok");
    expect(lines.map((l) => l.entry)).toEqual([
      { level: "error", msg: "failed", service: "gateway", requestId: "r2", code: 7 },
      { level: "info", msg: "ok", service: "gateway", requestId: "r1" },
    ]);
  });

  it("keeps its own level and message when a field has the same name", () => {
    const lines = capture();
    log.error("real", { level: "info", msg: "fake", n: 1 });
    expect(lines).toEqual([{ stream: "stderr", entry: { level: "error", msg: "real", n: 1 } }]);
  });
});
