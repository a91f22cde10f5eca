// Redis holds the limiter's counters and the usage not yet stored in Postgres. A Redis that
// may evict keys to make room, or keeps nothing on disk, can lose both, and nothing in the
// gateway's behaviour would show it until an invoice came up short. So the server reads the
// two settings at start and warns, naming each one and what to set (docs/self-hosting.md).
// A warning, not a refusal: a test box or a cache-only staging Redis is a fair choice, and
// managed services may hide the settings (INFO then fails, and the log says to check them by hand).

import { describeError } from "../core/errors";
import { log } from "../core/log";
import { withTimeout } from "../core/timeout";
import type { RedisCommands } from "../redis/lua-script";

/** One `field:value` line of an INFO section, or undefined. */
function infoField(info: unknown, field: string): string | undefined {
  if (typeof info !== "string") return undefined;
  const line = info.split(/\r?\n/).find((l) => l.startsWith(`${field}:`));
  return line?.slice(field.length + 1).trim();
}

/** What is unsafe in this Redis's settings for the limiter, in words an operator can act on. */
export async function redisSettingsWarnings(redis: RedisCommands): Promise<string[]> {
  const [memory, persistence] = await redis.pipeline([
    ["INFO", "memory"],
    ["INFO", "persistence"],
  ]);
  // A pipeline hands back an error reply (INFO renamed away) as a value, not a rejection.
  for (const reply of [memory, persistence]) if (reply instanceof Error) throw reply;
  const warnings: string[] = [];
  const policy = infoField(memory, "maxmemory_policy");
  if (policy !== undefined && policy !== "noeviction") {
    warnings.push(
      `Redis maxmemory-policy is ${policy}: at maxmemory it may evict limiter counters and usage not yet ` +
        "stored in Postgres; set maxmemory-policy noeviction",
    );
  }
  if (infoField(persistence, "aof_enabled") === "0") {
    warnings.push(
      "Redis appendonly is off: a Redis restart loses every change since its last RDB snapshot, if any " +
        "(limiter counters, and usage not yet stored in Postgres); set appendonly yes",
    );
  }
  return warnings;
}

/** Logs the warnings; never fails the start, and gives up after `ms`. */
export async function warnOnRedisSettings(redis: RedisCommands, ms = 2_000): Promise<void> {
  try {
    const warnings = await withTimeout(redisSettingsWarnings(redis), ms, () => new Error(`no answer in ${ms} ms`));
    for (const warning of warnings) log.warn(warning, { see: "docs/self-hosting.md#redis" });
  } catch (err) {
    log.info("could not read the Redis settings (INFO); check them by hand", { error: describeError(err) });
  }
}
