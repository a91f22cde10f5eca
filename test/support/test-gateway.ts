// A self-hosted gateway for a test file: a scratch Postgres, the shared Redis under a key
// prefix of its own, an echo upstream, and the server in-process. `stop()` removes it all.

import { createScratchDatabase } from "../../scripts/lib/scratch-database";
import { RedisClient } from "../../src/redis/resp/client";
import { nodeSocket } from "../../src/redis/resp/node-socket";
import { type SelfHosted, type SelfHostedOptions, startSelfHosted } from "../../src/server/self-hosted";
import { dropPrefix } from "../limiter/conformance/redis-harness";
import { startEchoUpstream } from "./echo-upstream";

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0";

export interface TestGateway {
  server: SelfHosted;
  url: string;
  token: string;
  /** The scratch database, for reading what the gateway stored. */
  databaseUrl: string;
  /** The echo upstream (test/support/echo-upstream.ts), to release the streams it holds. */
  upstreamUrl: string;
  stop(): Promise<void>;
}

export async function startTestGateway(
  name: string,
  env: Record<string, string> = {},
  options: Partial<Omit<SelfHostedOptions, "env">> = {},
): Promise<TestGateway> {
  const token = `${name}-admin-token-0123456789`;
  const prefix = `aegis-test-${crypto.randomUUID().slice(0, 8)}`;
  const scratch = await createScratchDatabase(`aegis_${name}`);
  const upstream = await startEchoUpstream();
  const server = await startSelfHosted({
    env: {
      DATABASE_URL: scratch.url,
      RATE_LIMIT_REDIS_URL: TEST_REDIS_URL,
      AEGIS_REDIS_PREFIX: prefix,
      ADMIN_TOKEN: token,
      UPSTREAM_URL: upstream.url,
      ...env,
    },
    port: 0,
    instance: name,
    billing: false,
    ...options,
  });
  return {
    server,
    url: server.url,
    token,
    databaseUrl: scratch.url,
    upstreamUrl: upstream.url,
    async stop() {
      await server.close();
      const redis = new RedisClient({ url: TEST_REDIS_URL, connect: nodeSocket });
      await dropPrefix(redis, prefix);
      await redis.close();
      await upstream.close();
      await scratch.drop();
    },
  };
}
