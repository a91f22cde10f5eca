// Which x-request-id values the gateway passes on, and which it replaces with its own.

import { describe, expect, it } from "vitest";
import { requestIdOf } from "../../src/core/request-id";

const minted = () => "minted";

describe("requestIdOf", () => {
  it.each([
    ["req-abc.123", "req-abc.123"],
    ["  padded  ", "padded"],
    ["01J9ZQ6Y8K2V3N4P5Q6R7S8T9V", "01J9ZQ6Y8K2V3N4P5Q6R7S8T9V"],
    ["dGVzdA==", "dGVzdA=="],
    ["a".repeat(128), "a".repeat(128)],
  ])("keeps %s", (given, expected) => {
    expect(requestIdOf(given, minted)).toBe(expected);
  });

  it.each([
    [undefined],
    [null],
    [""],
    ["has a space"],
    ["a".repeat(129)],
    ['quote"d'],
    ["new\nline"],
    ["ak_tnaaaaaaaaaaaaaaaa_secret_mac"],
  ])("replaces %j", (given) => {
    expect(requestIdOf(given, minted)).toBe("minted");
  });

  it("mints UUIDs by default", () => {
    expect(requestIdOf(undefined)).toMatch(/^[0-9a-f-]{36}$/);
  });
});
