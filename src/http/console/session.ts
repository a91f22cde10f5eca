// The console's session and CSRF tokens: stateless, signed with a key derived from
// ADMIN_TOKEN, so rotating the token ends every session.
//
// session cookie: "<expiry ms>.<HMAC(key, 'session:' + expiry)>"
// CSRF token:     HMAC(key, 'csrf:' + expiry), bound to the session it was issued with.

import { constantTimeEqual } from "../../core/secrets";

export const SESSION_COOKIE = "aegis_session";
export const SESSION_TTL_MS = 8 * 3_600_000;

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function keyOf(adminToken: string): Promise<CryptoKey> {
  let key = keys.get(adminToken);
  if (!key) {
    key = crypto.subtle.importKey(
      "raw",
      encoder.encode(`aegis-console:${adminToken}`),
      { name: "HMAC", hash: "SHA-256" },
      false,
      ["sign"],
    );
    if (keys.size > 8) keys.clear();
    keys.set(adminToken, key);
  }
  return key;
}

async function sign(adminToken: string, message: string): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await keyOf(adminToken), encoder.encode(message));
  return btoa(String.fromCharCode(...new Uint8Array(mac)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

export async function newSession(adminToken: string, now: number): Promise<string> {
  const expiry = now + SESSION_TTL_MS;
  return `${expiry}.${await sign(adminToken, `session:${expiry}`)}`;
}

/** The session's expiry when the cookie is genuine and current, else null. */
export async function verifySession(
  adminToken: string,
  cookie: string | undefined,
  now: number,
): Promise<number | null> {
  const m = /^(\d{13,16})\.([A-Za-z0-9_-]{43})$/.exec(cookie ?? "");
  if (!m) return null;
  const expiry = Number(m[1]);
  if (expiry <= now) return null;
  return constantTimeEqual(m[2] as string, await sign(adminToken, `session:${expiry}`)) ? expiry : null;
}

export function csrfToken(adminToken: string, expiry: number): Promise<string> {
  return sign(adminToken, `csrf:${expiry}`);
}

export async function verifyCsrf(adminToken: string, expiry: number, presented: unknown): Promise<boolean> {
  if (typeof presented !== "string" || presented.length === 0) return false;
  return constantTimeEqual(presented, await csrfToken(adminToken, expiry));
}
