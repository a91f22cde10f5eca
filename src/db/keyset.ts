// Keyset pagination over (created_at, id), newest first: the lists of the operator API.

import { and, desc, eq, lt, or, type SQL } from "drizzle-orm";
import type { PgColumn } from "drizzle-orm/pg-core";

export interface Position {
  createdAt: Date;
  id: string;
}

/** The condition for rows after `after` in newest-first order, and that order. */
export function newestFirst(createdAt: PgColumn, id: PgColumn, after: Position | undefined) {
  const where: SQL | undefined = after
    ? or(lt(createdAt, after.createdAt), and(eq(createdAt, after.createdAt), lt(id, after.id)))
    : undefined;
  return { where, orderBy: [desc(createdAt), desc(id)] };
}

/** A page of `limit` rows out of `limit + 1` fetched, and where the next page starts. */
export function pageOf<R extends Position, V>(rows: R[], limit: number, view: (row: R) => V) {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    items: page.map(view),
    next: rows.length > limit && last ? { createdAt: last.createdAt, id: last.id } : null,
  };
}
