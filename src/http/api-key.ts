// Reads a tenant's API key from a request and identifies the tenant it names.

import type { Context } from "hono";
import { loadConfig } from "../config";
import { parseApiKey, verifyKeyMac } from "../core/api-keys";
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

/**
 * The tenant id and key hash of the request's API key; throws 401 when there is none, and
 * for a key the gateway cannot have issued: a signed key whose MAC is wrong, or an unsigned
 * one when UNSIGNED_KEYS is "refuse". Either is refused before any limiter or database work.
 */
export async function presentedKey(c: Context): Promise<{ tenantId: string; keyHash: string }> {
  const key = bearerToken(c);
  if (!key) throw unauthorized("send the API key as 'Authorization: Bearer ak_...'");
  const parsed = parseApiKey(key);
  if (!parsed) throw invalidKey();
  const config = loadConfig(c.env);
  if (parsed.signed) {
    if (!(await verifyKeyMac(config.KEY_SIGNING_SECRET, parsed))) throw invalidKey();
  } else if (config.UNSIGNED_KEYS === "refuse") {
    throw invalidKey();
  }
  return { tenantId: parsed.tenantId, keyHash: await sha256Hex(key) };
}

export const suspended = () =>
  new Problem(403, "tenant-suspended", "this tenant is suspended; contact the operator of this API");
