// API keys: their format, issuing them, and telling one the gateway issued from a forgery.
//
// The tenant id travels in the key in clear, so the gateway can route to the tenant's
// limiter without a database round trip; only the SHA-256 hash of the whole key is stored.
// New keys carry a MAC over the tenant id and secret, made with a server secret, so that a
// key nobody issued is refused before any limiter, Redis or Postgres work.
//
// A signed key is `ak_<tenantId>_<secret>_<mac>`: the MAC is the first 128 bits of
// HMAC-SHA256(signing secret, "aegis-key-v1" NUL tenantId NUL secret), in hex. Keys from
// before signing, `ak_<tenantId>_<secret>`, carry no MAC; whether they are still accepted
// is the operator's choice while they are rotated out (UNSIGNED_KEYS).

import { constantTimeEqual, randomSecret, sha256Hex, TENANT_ID_PATTERN, TENANT_ID_SOURCE } from "./secrets";

const SIGNED_RE = new RegExp(`^ak_(${TENANT_ID_SOURCE})_([A-Za-z0-9]{32})_([0-9a-f]{32})$`);
const UNSIGNED_RE = new RegExp(`^ak_(${TENANT_ID_SOURCE})_([A-Za-z0-9]{32,64})$`);
const CONTEXT = "aegis-key-v1";
/** Characters of the secret kept in the displayable prefix. */
const PREFIX_SECRET_CHARS = 4;
/** Shortest signing secret accepted: 32 characters, about 190 bits from a password generator. */
export const MIN_SIGNING_SECRET_LENGTH = 32;

export type ParsedKey =
  | { tenantId: string; signed: true; secret: string; mac: string }
  | { tenantId: string; signed: false };

/** The parts of a well-formed key, signed or not, or null for anything else. */
export function parseApiKey(key: string): ParsedKey | null {
  const signed = SIGNED_RE.exec(key);
  if (signed)
    return { tenantId: signed[1] as string, signed: true, secret: signed[2] as string, mac: signed[3] as string };
  const unsigned = UNSIGNED_RE.exec(key);
  return unsigned ? { tenantId: unsigned[1] as string, signed: false } : null;
}

// Importing a key costs more than the MAC itself: each secret is imported once per isolate.
const imported = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = imported.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
    ]);
    imported.set(secret, key);
  }
  return key;
}

/** The MAC of a key's tenant id and secret under one signing secret. */
export async function keyMac(signingSecret: string, tenantId: string, secret: string): Promise<string> {
  const data = new TextEncoder().encode(`${CONTEXT}\0${tenantId}\0${secret}`);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", await hmacKey(signingSecret), data));
  let hex = "";
  for (const b of mac.subarray(0, 16)) hex += b.toString(16).padStart(2, "0");
  return hex;
}

/**
 * Whether a signed key's MAC was made with one of the signing secrets (several while one is
 * rotated in). Every secret is tried, so the time taken does not say which one matched.
 */
export async function verifyKeyMac(
  signingSecrets: readonly string[],
  key: { tenantId: string; secret: string; mac: string },
): Promise<boolean> {
  const macs = await Promise.all(signingSecrets.map((s) => keyMac(s, key.tenantId, key.secret)));
  let ok = false;
  for (const mac of macs) ok = constantTimeEqual(mac, key.mac) || ok;
  return ok;
}

/**
 * A new API key for a tenant, with its displayable prefix: 32 random characters (190 bits),
 * signed with the first signing secret when there is one.
 */
export async function newApiKey(
  tenantId: string,
  signingSecret: string | undefined,
): Promise<{ key: string; prefix: string }> {
  // A key for a malformed id would be refused by every check: fail where it is made.
  if (!TENANT_ID_PATTERN.test(tenantId)) throw new RangeError(`not a tenant id: ${JSON.stringify(tenantId)}`);
  const secret = randomSecret(32);
  const unsigned = `ak_${tenantId}_${secret}`;
  const key = signingSecret ? `${unsigned}_${await keyMac(signingSecret, tenantId, secret)}` : unsigned;
  return { key, prefix: key.slice(0, "ak_".length + tenantId.length + 1 + PREFIX_SECRET_CHARS) };
}

/** The tenant id a well-formed key names, or null. Says nothing of whether the key is genuine. */
export function tenantOfKey(key: string): string | null {
  return parseApiKey(key)?.tenantId ?? null;
}

/** What a tenant snapshot's `keyHashes` hold for a key: its SHA-256, in hex. */
export const hashApiKey = (key: string): Promise<string> => sha256Hex(key);

/**
 * The headers a tenant's key may come in, in the order they are read: OpenAI-style clients
 * send `Authorization: Bearer`, Anthropic's `x-api-key`, Azure OpenAI's `api-key`. The
 * gateway reads the key from any of them and forwards none of them.
 */
export const API_KEY_HEADERS = ["authorization", "x-api-key", "api-key"] as const;
export type ApiKeyHeader = (typeof API_KEY_HEADERS)[number];

export type PresentedKey =
  | { key: string; header: ApiKeyHeader }
  /** No key at all; `notBearer` when an Authorization header was there but not `Bearer <token>`. */
  | { missing: true; notBearer?: boolean }
  /** Two headers carry different keys: which one the client meant cannot be told. */
  | { conflict: ApiKeyHeader[] };

/**
 * The one rule for reading a tenant's key from a request's headers, wherever a key is read.
 * The same key in several of the headers is one key; different ones are a conflict.
 */
export function keyFromHeaders(header: (name: ApiKeyHeader) => string | null | undefined): PresentedKey {
  const found: { key: string; header: ApiKeyHeader }[] = [];
  let notBearer = false;
  for (const name of API_KEY_HEADERS) {
    const raw = header(name)?.trim();
    if (!raw) continue;
    // An Authorization that is not a bearer token is not a key (it may be for a proxy on
    // the way); the key may still come in another header.
    const key = name === "authorization" ? /^Bearer\s+(\S+)$/i.exec(raw)?.[1] : raw;
    if (key) found.push({ key, header: name });
    else notBearer = true;
  }
  const first = found[0];
  if (!first) return notBearer ? { missing: true, notBearer } : { missing: true };
  if (found.some((f) => f.key !== first.key)) return { conflict: found.map((f) => f.header) };
  return first;
}
