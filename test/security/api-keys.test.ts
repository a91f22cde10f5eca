import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { keyFromHeaders, keyMac, newApiKey, parseApiKey, tenantOfKey, verifyKeyMac } from "../../src/core/api-keys";
import { isTenantId, newTenantId } from "../../src/core/secrets";

const SECRET = "signing-secret-one-0123456789abcdef";
const NEXT = "signing-secret-two-0123456789abcdef";

/** Verifies a key the way the gateway does: well formed, then its MAC. */
async function genuine(key: string, secrets: string[]): Promise<boolean> {
  const parsed = parseApiKey(key);
  return parsed?.signed === true && (await verifyKeyMac(secrets, parsed));
}

describe("API keys", () => {
  it("mints signed keys that name their tenant and keep only a short display prefix", async () => {
    const tenant = newTenantId();
    expect(isTenantId(tenant)).toBe(true);
    const { key, prefix } = await newApiKey(tenant, SECRET);
    expect(key).toMatch(new RegExp(`^ak_${tenant}_[A-Za-z0-9]{32}_[0-9a-f]{32}$`));
    expect(tenantOfKey(key)).toBe(tenant);
    expect(key.startsWith(prefix)).toBe(true);
    expect(prefix).toBe(key.slice(0, `ak_${tenant}_`.length + 4));
    expect((await newApiKey(tenant, SECRET)).key).not.toBe(key);
    expect(await genuine(key, [SECRET])).toBe(true);
  });

  it("computes the MAC as documented: HMAC-SHA256 over the context, tenant and secret, 128 bits in hex", async () => {
    const tenant = "tnaaaaaaaaaaaaaaaa";
    const secret = "A".repeat(32);
    const raw = await crypto.subtle.sign(
      "HMAC",
      await crypto.subtle.importKey("raw", new TextEncoder().encode(SECRET), { name: "HMAC", hash: "SHA-256" }, false, [
        "sign",
      ]),
      new TextEncoder().encode(`aegis-key-v1\0${tenant}\0${secret}`),
    );
    const expected = [...new Uint8Array(raw).slice(0, 16)].map((b) => b.toString(16).padStart(2, "0")).join("");
    expect(await keyMac(SECRET, tenant, secret)).toBe(expected);
  });

  it("refuses any change to a signed key: tenant, secret or MAC", async () => {
    const { key } = await newApiKey(newTenantId(), SECRET);
    const alphabet = "abcdefghijklmnopqrstuvwxyz234567ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 3, max: key.length - 1 }), fc.constantFrom(...alphabet), async (at, ch) => {
        if (key[at] === "_" || key[at] === ch) return;
        const forged = key.slice(0, at) + ch + key.slice(at + 1);
        expect(await genuine(forged, [SECRET])).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it("verifies keys signed with any listed secret, so a new secret can be rotated in", async () => {
    const tenant = newTenantId();
    const old = (await newApiKey(tenant, SECRET)).key;
    const fresh = (await newApiKey(tenant, NEXT)).key;
    expect(await genuine(old, [NEXT, SECRET])).toBe(true);
    expect(await genuine(fresh, [NEXT, SECRET])).toBe(true);
    expect(await genuine(old, [NEXT])).toBe(false);
    expect(await genuine(fresh, [])).toBe(false);
  });

  it("refuses to mint a key for a malformed tenant id, which no check could ever accept", async () => {
    for (const id of ["tnexampletenant00", "tnABCDEFGHIJKLMNOP", "tn", "xyabcdefghijklmnop", "tnabcdefghijklmnopq"]) {
      await expect(newApiKey(id, SECRET)).rejects.toThrow(/not a tenant id/);
    }
  });

  it("still parses keys issued before signing, as unsigned, and nothing else", async () => {
    const tenant = newTenantId();
    const { key } = await newApiKey(tenant, undefined);
    expect(key).toMatch(new RegExp(`^ak_${tenant}_[A-Za-z0-9]{32}$`));
    expect(parseApiKey(key)).toEqual({ tenantId: tenant, signed: false });
    for (const bad of [
      "",
      "ak_",
      "ak_tnabc_secret",
      "sk_tnabcdefghijklmnop_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "ak_tnabcdefghijklmnop_short",
      `ak_tnabcdefghijklmnop_${"A".repeat(32)}_${"0".repeat(31)}`,
      `ak_tnabcdefghijklmnop_${"A".repeat(32)}_${"G".repeat(32)}`,
    ]) {
      expect(tenantOfKey(bad), bad).toBeNull();
    }
  });

  it("reads KEY_SIGNING_SECRET as a list, and refuses short secrets and refusing unsigned keys without one", () => {
    expect(loadConfig({ KEY_SIGNING_SECRET: `${SECRET}, ${NEXT}` }).KEY_SIGNING_SECRET).toEqual([SECRET, NEXT]);
    expect(loadConfig({}).KEY_SIGNING_SECRET).toEqual([]);
    expect(loadConfig({}).UNSIGNED_KEYS).toBe("accept");
    expect(() => loadConfig({ KEY_SIGNING_SECRET: "short" })).toThrow(/KEY_SIGNING_SECRET/);
    expect(() => loadConfig({ UNSIGNED_KEYS: "refuse" })).toThrow(/KEY_SIGNING_SECRET/);
    expect(() => loadConfig({ UNSIGNED_KEYS: "maybe", KEY_SIGNING_SECRET: SECRET })).toThrow(/UNSIGNED_KEYS/);
  });

  it("reads a key from Authorization: Bearer, x-api-key or api-key, one rule for all three", () => {
    const from = (h: Record<string, string>) => keyFromHeaders((name) => h[name]);
    expect(from({ authorization: "Bearer ak_1" })).toEqual({ key: "ak_1", header: "authorization" });
    expect(from({ authorization: "bearer   ak_1  " })).toEqual({ key: "ak_1", header: "authorization" });
    expect(from({ "x-api-key": "ak_1" })).toEqual({ key: "ak_1", header: "x-api-key" });
    expect(from({ "api-key": " ak_1 " })).toEqual({ key: "ak_1", header: "api-key" });
    expect(from({})).toEqual({ missing: true });
    expect(from({ authorization: "Basic dXNlcjpwYXNz" })).toEqual({ missing: true, notBearer: true });
    expect(from({ authorization: "Bearer a b" })).toEqual({ missing: true, notBearer: true });
    expect(from({ authorization: "Basic x", "api-key": "ak_1" })).toEqual({ key: "ak_1", header: "api-key" });
  });

  it("takes one key sent in several headers as that key, and different keys as a conflict", () => {
    const headers = ["authorization", "x-api-key", "api-key"] as const;
    const token = fc.stringMatching(/^[A-Za-z0-9_]{1,40}$/);
    fc.assert(
      fc.property(fc.subarray([...headers], { minLength: 1 }), token, token, fc.nat(), (present, a, b, pick) => {
        const odd = present[pick % present.length];
        const value = (name: string, key: string) => (name === "authorization" ? `Bearer ${key}` : key);
        const same = keyFromHeaders((name) => (present.includes(name) ? value(name, a) : undefined));
        expect(same).toEqual({ key: a, header: present[0] });
        const mixed = keyFromHeaders((name) =>
          present.includes(name) ? value(name, name === odd ? b : a) : undefined,
        );
        if (present.length === 1 || a === b) expect(mixed).toMatchObject({ header: present[0] });
        else expect(mixed).toEqual({ conflict: present });
      }),
    );
  });
});
