// What GET /readyz asks of the self-hosted server: Postgres and Redis answer (each within
// 2 s), and the usage consumer is not failing. Each answer is "ok" or why not; no tenant's data.

import { sql } from "drizzle-orm";
import { describeError } from "../core/errors";
import { withTimeout } from "../core/timeout";
import type { Database } from "../db/database";
import type { RedisCommands } from "../redis/lua-script";
import { PROBE_TIMEOUT_MS } from "./timings";

async function probe(check: () => Promise<unknown>): Promise<string> {
  try {
    await withTimeout(check(), PROBE_TIMEOUT_MS, () => new Error(`no answer in ${PROBE_TIMEOUT_MS} ms`));
    return "ok";
  } catch (err) {
    return `unavailable (${describeError(err)})`;
  }
}

export function readinessOf(sources: {
  db: Database;
  redis: RedisCommands;
  /** Consumer polls that failed in a row, now. */
  consumerFailures(): number;
}): () => Promise<Record<string, string>> {
  return async () => {
    const [postgres, redis] = await Promise.all([
      probe(() => sources.db.execute(sql`SELECT 1`)),
      probe(() => sources.redis.send(["PING"])),
    ]);
    const failures = sources.consumerFailures();
    const consumer = failures === 0 ? "ok" : `failing (${failures} polls in a row could not store usage)`;
    return { postgres, redis, consumer };
  };
}
