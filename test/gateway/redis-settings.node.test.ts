// The self-hosted server's start-up check of the two Redis settings the limiter depends on
// (maxmemory-policy noeviction, appendonly yes), against a real redis-server of the test's
// own whose settings it changes with CONFIG SET; and a start of the whole server against it,
// whose log must carry the warnings.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { RedisClient } from "../../src/redis/resp/client";
import { nodeSocket } from "../../src/redis/resp/node-socket";
import { redisSettingsWarnings, warnOnRedisSettings } from "../../src/server/redis-settings";
import { type DedicatedRedis, startDedicatedRedis } from "../support/redis-server";
import { startTestGateway } from "../support/test-gateway";

let server: DedicatedRedis;
let redis: RedisClient;
const dir = mkdtempSync(path.join(tmpdir(), "aegis-redis-aof-"));

beforeAll(async () => {
  // Its AOF goes to a directory of the test's own, not the working directory (the repository).
  server = await startDedicatedRedis(["--dir", dir]);
  redis = new RedisClient({ url: server.url, connect: nodeSocket });
}, 30_000);

afterAll(async () => {
  await redis?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const set = (name: string, value: string) => redis.send(["CONFIG", "SET", name, value]);

describe("Redis settings at start", () => {
  it("names an evicting policy and a Redis without AOF, and says nothing once both are safe", async () => {
    await set("maxmemory-policy", "allkeys-lru");
    const both = await redisSettingsWarnings(redis);
    expect(both).toHaveLength(2);
    expect(both[0]).toMatch(/maxmemory-policy is allkeys-lru.*set maxmemory-policy noeviction/);
    expect(both[1]).toMatch(/appendonly is off.*set appendonly yes/);

    await set("maxmemory-policy", "noeviction");
    expect(await redisSettingsWarnings(redis)).toEqual([expect.stringMatching(/appendonly is off/)]);

    await set("appendonly", "yes");
    expect(await redisSettingsWarnings(redis)).toEqual([]);
    await set("appendonly", "no");
  });

  it("logs a note, not a failure, when the settings can't be read", async () => {
    // A managed Redis that renamed INFO away answers every INFO with an error reply.
    const hidden = await startDedicatedRedis(["--rename-command", "INFO", '""']);
    const client = new RedisClient({ url: hidden.url, connect: nodeSocket });
    const info = vi.spyOn(console, "log").mockImplementation(() => {});
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    try {
      await expect(redisSettingsWarnings(client)).rejects.toThrow(/unknown command 'INFO'/);
      await warnOnRedisSettings(client);
      expect(warn).not.toHaveBeenCalled();
      expect(info.mock.calls.map((c) => String(c[0]))).toEqual([
        expect.stringMatching(/could not read the Redis settings.*unknown command 'INFO'/),
      ]);
    } finally {
      info.mockRestore();
      warn.mockRestore();
      await client.close();
      await hidden.stop();
    }
  });

  it("warns in the server's log when npm run serve's Redis can evict", async () => {
    await set("maxmemory-policy", "volatile-ttl");
    const warn = vi.spyOn(console, "warn");
    const gateway = await startTestGateway("redis_settings", { RATE_LIMIT_REDIS_URL: server.url });
    try {
      const lines = warn.mock.calls.map((c) => String(c[0]));
      expect(lines).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/"msg":"Redis maxmemory-policy is volatile-ttl/),
          expect.stringMatching(/"msg":"Redis appendonly is off/),
        ]),
      );
    } finally {
      warn.mockRestore();
      await gateway.stop();
    }
  }, 60_000);
});
