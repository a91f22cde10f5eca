// One Redis connection (or one cluster client) from the configuration, for any runtime.

import type { Config } from "../config";
import type { RedisCommands } from "./lua-script";
import { RedisClient } from "./resp/client";
import { RedisCluster } from "./resp/cluster";
import type { SocketConnector } from "./resp/socket";

export type RedisConnection = RedisCommands & { close(): Promise<void> };

/**
 * RATE_LIMIT_REDIS_URL names one server, or with RATE_LIMIT_REDIS_CLUSTER=true one or more
 * comma-separated seed nodes of a Redis Cluster.
 */
export function openRedis(
  config: Config,
  connect: SocketConnector,
  overrides: { commandTimeoutMs?: number } = {},
): RedisConnection {
  const url = config.RATE_LIMIT_REDIS_URL;
  if (!url) throw new Error("RATE_LIMIT_REDIS_URL is not set");
  const timeouts = {
    connect,
    connectTimeoutMs: Math.min(1_000, config.LIMITER_TIMEOUT_MS),
    commandTimeoutMs: overrides.commandTimeoutMs ?? config.LIMITER_TIMEOUT_MS,
  };
  if (config.RATE_LIMIT_REDIS_CLUSTER) {
    return new RedisCluster({ ...timeouts, seeds: url.split(",").map((s) => s.trim()) });
  }
  return new RedisClient({ ...timeouts, url });
}
