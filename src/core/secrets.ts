// Ids, random secrets, SHA-256 hashes and constant-time comparison. API keys are built from
// these in api-keys.ts.

const ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";
const SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/** A tenant id: `tn` and 16 lowercase base32 characters. The one spelling of the pattern. */
export const TENANT_ID_SOURCE = "tn[a-z2-7]{16}";
export const TENANT_ID_PATTERN = new RegExp(`^${TENANT_ID_SOURCE}$`);

function randomString(alphabet: string, length: number): string {
  // Rejection sampling keeps every character uniform, whatever the alphabet's size.
  const limit = 256 - (256 % alphabet.length);
  let out = "";
  while (out.length < length) {
    for (const byte of crypto.getRandomValues(new Uint8Array(length * 2))) {
      if (byte < limit && out.length < length) out += alphabet[byte % alphabet.length];
    }
  }
  return out;
}

/** A new tenant id: `tn` and 16 base32 characters (80 random bits). */
export const newTenantId = () => newRandomId("tn", 16);
/** A new API key id: `key` and 16 base32 characters. */
export const newKeyId = () => newRandomId("key", 16);
export const isTenantId = (id: string) => TENANT_ID_PATTERN.test(id);

/** An id of a record: `prefix` and `length` base32 characters (5 random bits each). */
export const newRandomId = (prefix: string, length: number) => `${prefix}${randomString(ID_ALPHABET, length)}`;

/** A random string of letters and digits: `length` characters of about 5.95 bits each. */
export const randomSecret = (length: number) => randomString(SECRET_ALPHABET, length);

/** Lowercase hex SHA-256 of a string. */
export async function sha256Hex(value: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(value));
  let hex = "";
  for (const b of new Uint8Array(digest)) hex += b.toString(16).padStart(2, "0");
  return hex;
}

/** Compares two strings in time that depends only on their lengths. */
export function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) diff |= (a.charCodeAt(i) | 0) ^ (b.charCodeAt(i) | 0);
  return diff === 0;
}

/**
 * Whether `hash` is one of `hashes`. Every candidate is compared in full, so the time taken
 * says nothing about which one matched or how much of it did.
 */
export function hashIn(hash: string, hashes: readonly string[]): boolean {
  let found = false;
  for (const h of hashes) found = constantTimeEqual(hash, h) || found;
  return found;
}

/**
 * Compares a presented secret with the expected one in constant time. Both are hashed
 * first, so the comparison leaks neither content nor length.
 */
export async function secretsEqual(presented: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([sha256Hex(presented), sha256Hex(expected)]);
  return constantTimeEqual(a, b);
}
