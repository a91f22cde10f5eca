// The self-hosted runtime: the same Hono gateway on Node, Bun or Deno, with the Redis
// limiter, Postgres through `pg`, a stream consumer that stores usage, a sweeper for
// reservations that expire unsettled, and an in-process scheduler for billing.
//
// Several instances may share one Redis (or Redis Cluster) and one Postgres: the limiter
// state lives in Redis, the consumer group splits the streams' entries between instances,
// and billing runs under a Postgres advisory lock, so a tick on every instance is harmless.

import { hostname } from "node:os";
import { serve } from "@hono/node-server";
import { Cron } from "croner";
import { billingTick } from "../billing/cron";
import { type Config, loadConfig } from "../config";
import { describeError } from "../core/errors";
import { guardedStore } from "../core/guarded-store";
import type { DatabaseHandle } from "../db/database";
import { openNodeDatabase } from "../db/node";
import { loadTenantSnapshot } from "../db/tenants";
import { defaultLimits } from "../defaults";
import type { Env } from "../env";
import { createGateway } from "../http/app";
import { DEFAULT_PREFIX, registryKey } from "../redis/keys";
import { openRedis } from "../redis/open-redis";
import { RedisLimiterStore } from "../redis/redis-limiter-store";
import { nodeSocket } from "../redis/resp/node-socket";
import { UsageStreamConsumer } from "../redis/usage-stream-consumer";

/** When billing runs: the same schedule as the Worker's Cron Trigger. */
export const BILLING_SCHEDULE = "*/15 * * * *";
const IDLE_POLL_MS = 200;
const SWEEP_EVERY_MS = 5_000;

export interface SelfHostedOptions {
  /** The settings (process.env, or a test's own). */
  env: Record<string, string | undefined>;
  port?: number;
  hostname?: string;
  /** This instance's name in the usage consumer group. Default: AEGIS_INSTANCE, else the host name. */
  instance?: string;
  /** Prefix of every Redis key, to share one Redis between deployments. Default: AEGIS_REDIS_PREFIX, else "aegis". */
  redisPrefix?: string;
  /** Run billing in this process. Default true. */
  billing?: boolean;
}

export interface SelfHosted {
  url: string;
  config: Config;
  /** Stops taking requests, finishes work in flight, stores what was read, and lets go of connections. */
  close(): Promise<void>;
}

export class SelfHostedConfigError extends Error {
  override name = "SelfHostedConfigError";
}

const log = (record: Record<string, unknown>) => console.log(JSON.stringify(record));
const logError = (msg: string, err: unknown) => console.error(JSON.stringify({ msg, error: describeError(err) }));

export async function startSelfHosted(options: SelfHostedOptions): Promise<SelfHosted> {
  // One env object for the process: the config cache is keyed by it.
  const env = { ...options.env } as unknown as Env;
  const config = loadConfig(env);
  if (!config.DATABASE_URL) throw new SelfHostedConfigError("DATABASE_URL is not set (postgres://...)");
  if (!config.RATE_LIMIT_REDIS_URL) throw new SelfHostedConfigError("RATE_LIMIT_REDIS_URL is not set (redis://...)");
  if (!config.ADMIN_TOKEN) console.warn("ADMIN_TOKEN is not set: the operator API refuses every request");

  const redis = openRedis(config, nodeSocket);
  const database = openNodeDatabase(config.DATABASE_URL, 10);
  // The pool is shared by every request; a request's "close" must not end it.
  const shared: DatabaseHandle = { db: database.db, close: async () => {} };

  const prefix = options.redisPrefix ?? options.env.AEGIS_REDIS_PREFIX ?? DEFAULT_PREFIX;
  const limiter = new RedisLimiterStore({
    redis,
    prefix,
    loadSnapshot: (tenantId) => loadTenantSnapshot(database.db, tenantId, defaultLimits(config)),
    reservationTtlSeconds: config.RESERVATION_TTL_SECONDS,
    configRefreshSeconds: config.CONFIG_REFRESH_SECONDS,
  });
  const store = guardedStore(limiter, config.LIMITER_TIMEOUT_MS);
  const gateway = createGateway({ openDatabase: () => shared, store: () => store });

  // Work that outlives a response (settling a streamed call, closing handles): tracked so
  // a shutdown waits for it instead of dropping usage.
  const background = new Set<Promise<unknown>>();
  const executionCtx = {
    waitUntil(p: Promise<unknown>) {
      const tracked = p
        .catch((err: unknown) => logError("background work failed", err))
        .finally(() => {
          background.delete(tracked);
        });
      background.add(tracked);
    },
    passThroughOnException() {},
    props: {},
  };

  const server = serve({
    fetch: (request: Request) => gateway.fetch(request, env, executionCtx as unknown as ExecutionContext),
    port: options.port ?? 8787,
    hostname: options.hostname ?? "127.0.0.1",
  });
  const address = await new Promise<{ port: number }>((resolve, reject) => {
    server.once("listening", () => resolve(server.address() as { port: number }));
    server.once("error", reject);
  });

  let stopping = false;
  const instance = options.instance ?? options.env.AEGIS_INSTANCE ?? hostname();
  const consumer = new UsageStreamConsumer({ redis, prefix, openDatabase: () => shared, consumer: instance });
  const consumeLoop = (async () => {
    let failures = 0;
    while (!stopping) {
      try {
        const r = await consumer.poll();
        failures = 0;
        if (r.read === 0) await pause(IDLE_POLL_MS);
      } catch (err) {
        failures++;
        logError("usage stream poll failed", err);
        await pause(Math.min(10_000, 250 * 2 ** failures));
      }
    }
  })();

  const sweeper = setInterval(() => {
    void (async () => {
      const members = await redis.send(["SMEMBERS", registryKey(prefix)]);
      for (const tenantId of Array.isArray(members) ? members.map(String) : []) {
        if (stopping) return;
        await limiter.sweepExpired(tenantId);
      }
    })().catch((err: unknown) => logError("reservation sweep failed", err));
  }, SWEEP_EVERY_MS);

  const billing =
    options.billing === false
      ? null
      : new Cron(
          BILLING_SCHEDULE,
          { protect: true, catch: (err) => logError("billing tick failed", err) },
          async (job) => {
            // The scheduled minute decides the period, as the Cron Trigger's scheduledTime does.
            const scheduled = job.currentRun()?.getTime() ?? Date.now();
            const { run, delivery } = await billingTick(database.db, config, scheduled - (scheduled % 60_000));
            log({ msg: "billing tick", period: run.period, invoices: run.created.length, webhooks: delivery });
          },
        );

  return {
    url: `http://${options.hostname ?? "127.0.0.1"}:${address.port}`,
    config,
    async close() {
      stopping = true;
      wake();
      billing?.stop();
      clearInterval(sweeper);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([...background]);
      await consumeLoop;
      // Whatever the last requests wrote to the streams is stored before leaving.
      await consumer.poll().catch((err: unknown) => logError("final usage poll failed", err));
      await redis.close();
      await database.close();
    },
  };
}

/** Waits `ms`, or less if `wake` is called (a shutdown should not wait out a backoff). */
let wake: () => void = () => {};
const pause = (ms: number) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
