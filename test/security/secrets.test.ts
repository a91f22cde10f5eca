import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { constantTimeEqual, hashIn, secretsEqual, sha256Hex } from "../../src/core/secrets";

describe("secrets", () => {
  it("hashes with SHA-256", async () => {
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("compares strings correctly whatever they hold", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(constantTimeEqual(a, b)).toBe(a === b);
        expect(constantTimeEqual(a, a)).toBe(true);
      }),
    );
  });

  it("finds a hash among many and compares secrets by their hashes", async () => {
    const hashes = await Promise.all(["a", "b", "c"].map(sha256Hex));
    expect(hashIn(await sha256Hex("b"), hashes)).toBe(true);
    expect(hashIn(await sha256Hex("d"), hashes)).toBe(false);
    expect(hashIn(await sha256Hex("d"), [])).toBe(false);
    expect(await secretsEqual("token-1", "token-1")).toBe(true);
    expect(await secretsEqual("token-1", "token-12")).toBe(false);
  });
});
