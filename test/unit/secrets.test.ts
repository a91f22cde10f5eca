import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  constantTimeEqual,
  hashIn,
  isTenantId,
  newApiKey,
  newTenantId,
  secretsEqual,
  sha256Hex,
  tenantOfKey,
} from "../../src/core/secrets";

describe("API keys and secrets", () => {
  it("mints keys that name their tenant and keep only a short display prefix", () => {
    const tenant = newTenantId();
    expect(isTenantId(tenant)).toBe(true);
    const { key, prefix } = newApiKey(tenant);
    expect(key).toMatch(new RegExp(`^ak_${tenant}_[A-Za-z0-9]{32}$`));
    expect(tenantOfKey(key)).toBe(tenant);
    expect(key.startsWith(prefix)).toBe(true);
    expect(prefix.length).toBe(key.length - 28);
    expect(newApiKey(tenant).key).not.toBe(key);
  });

  it("rejects keys that are not well formed", () => {
    for (const bad of [
      "",
      "ak_",
      "ak_tnabc_secret",
      "sk_tnabcdefghijklmnop_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "ak_tnabcdefghijklmnop_short",
    ]) {
      expect(tenantOfKey(bad)).toBeNull();
    }
  });

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
