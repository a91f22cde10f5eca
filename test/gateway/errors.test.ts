import { describe, expect, it } from "vitest";
import { describeError } from "../../src/core/errors";

describe("describeError", () => {
  it("logs a drizzle failure by its cause, without the SQL or its parameters", () => {
    const cause = Object.assign(new Error('duplicate key value violates unique constraint "x"'), { code: "23505" });
    const wrapped = new Error('Failed query: insert into secrets values ($1)\nparams: ["hunter2"]', { cause });
    const line = describeError(wrapped);
    expect(line).toBe('23505 Error: duplicate key value violates unique constraint "x"');
    expect(line).not.toContain("hunter2");
  });

  it("keeps other errors to one short line", () => {
    expect(describeError(new TypeError(`bad\n${"x".repeat(1000)}`))).toBe("TypeError: bad");
    expect(describeError("plain")).toBe("plain");
    expect(describeError(new Error("y".repeat(1000))).length).toBe(300);
  });
});
