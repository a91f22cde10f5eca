// Reads a tenant's API key from a request and identifies the tenant it names.

import type { Context } from "hono";
import { sha256Hex, tenantOfKey } from "../core/secrets";
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

/** The tenant id and key hash of the request's API key; throws 401 when there is none. */
export async function presentedKey(c: Context): Promise<{ tenantId: string; keyHash: string }> {
  const key = bearerToken(c);
  if (!key) throw unauthorized("send the API key as 'Authorization: Bearer ak_...'");
  const tenantId = tenantOfKey(key);
  if (!tenantId) throw invalidKey();
  return { tenantId, keyHash: await sha256Hex(key) };
}

export const suspended = () =>
  new Problem(403, "tenant-suspended", "this tenant is suspended; contact the operator of this API");
