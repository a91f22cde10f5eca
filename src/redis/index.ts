// `aegis-edge/redis`: the Redis limiter and its parts, for apps that run the limiter on their
// own Redis (the self-hosted server is built from these). The socket adapters are separate
// entry points, so neither runtime's module lands in the other's bundle:
// `aegis-edge/redis/node-socket` (Node, Bun, Deno) and `aegis-edge/redis/cloudflare-socket`.

export { guardedStore } from "../core/guarded-store";
export { DEFAULT_PREFIX, INGEST_GROUP, tenantKeys } from "./keys";
export type { RedisCommands } from "./lua-script";
export { openRedis, type RedisConnection } from "./open-redis";
export { LimiterInvariantError, type RedisLimiterOptions, RedisLimiterStore } from "./redis-limiter-store";
export { keySlot, RedisCluster, type RedisClusterOptions } from "./resp/cluster";
export * from "./resp/index";
export { UsageConsumerLoop, type UsageConsumerLoopOptions } from "./usage-consumer-loop";
export { type PollResult, type StreamConsumerOptions, UsageStreamConsumer } from "./usage-stream-consumer";
