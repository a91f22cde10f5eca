// Reads a tenant's API key from a request and identifies the tenant it names.

import type { Context } from "hono";
import type { Config } from "../config";
import { API_KEY_HEADERS, keyFromHeaders, parseApiKey, verifyKeyMac } from "../core/api-keys";
import { sha256Hex } from "../core/secrets";
import { Problem } from "./problem";

const CHALLENGE = { "WWW-Authenticate": 'Bearer realm="aegis-edge"' };

/** The bearer token of a request, or null. */
export function bearerToken(c: Context): string | null {
  const header = c.req.header("authorization");
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

export function unauthorized(detail: string): Problem {
  return new Problem(401, "unauthorized", detail, {}, CHALLENGE);
}

export const invalidKey = () => unauthorized("the API key is unknown or has been revoked");

/** Which keys may be presented at all: signed with one of these secrets, and unsigned ones or not. */
export interface KeyPolicy {
  /** KEY_SIGNING_SECRET: the current secret first, then any still accepted while rotating. */
  signingSecrets: readonly string[];
  /** UNSIGNED_KEYS: keys issued before signing. */
  unsignedKeys: "accept" | "refuse";
}

export const keyPolicyOf = (config: Config): KeyPolicy => ({
  signingSecrets: config.KEY_SIGNING_SECRET,
  unsignedKeys: config.UNSIGNED_KEYS,
});

/** The headers a tenant's key may come in; the proxy forwards none of them. */
export { API_KEY_HEADERS };

/**
 * The tenant id and key hash of the request's API key, from `Authorization: Bearer`,
 * `x-api-key` or `api-key` (core's keyFromHeaders). Throws 401 when there is none, when
 * two headers carry different keys, and for a key the gateway cannot have issued: a signed
 * key whose MAC is wrong, or an unsigned one when UNSIGNED_KEYS is "refuse". Each is
 * refused before any limiter or database work.
 */
export async function presentedKey(c: Context, policy: KeyPolicy): Promise<{ tenantId: string; keyHash: string }> {
  const presented = keyFromHeaders((name) => c.req.header(name));
  if ("missing" in presented) {
    throw unauthorized("send the API key as 'Authorization: Bearer ak_...', 'x-api-key: ak_...' or 'api-key: ak_...'");
  }
  if ("conflict" in presented) {
    throw unauthorized(`the request carries different API keys in ${presented.conflict.join(", ")}; send one`);
  }
  const { key } = presented;
  const parsed = parseApiKey(key);
  if (!parsed) throw invalidKey();
  if (parsed.signed) {
    if (!(await verifyKeyMac(policy.signingSecrets, parsed))) throw invalidKey();
  } else if (policy.unsignedKeys === "refuse") {
    throw invalidKey();
  }
  return { tenantId: parsed.tenantId, keyHash: await sha256Hex(key) };
}

export const suspended = () =>
  new Problem(403, "tenant-suspended", "this tenant is suspended; contact the operator of this API");
