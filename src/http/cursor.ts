// Opaque keyset cursors for lists ordered by (created_at, id).

import type { Position } from "../db/keyset";
import { Problem } from "./problem";

export function encodeCursor(after: Position): string {
  return btoa(JSON.stringify([after.createdAt.toISOString(), after.id])).replaceAll("=", "");
}

/** Reads a cursor back; only what `encodeCursor` could have written for ids that pass `isId`. */
export function decodeCursor(cursor: string, isId: (id: string) => boolean): Position {
  try {
    const [at, id] = JSON.parse(atob(cursor)) as [unknown, unknown];
    const createdAt = new Date(String(at));
    const year = createdAt.getUTCFullYear();
    if (typeof id === "string" && isId(id) && year >= 2000 && year <= 9999) return { createdAt, id };
  } catch {}
  throw new Problem(400, "invalid-cursor", "the cursor is not one this API returned");
}
