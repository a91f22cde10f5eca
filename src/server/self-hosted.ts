// The self-hosted runtime: the same Hono gateway on Node, Bun or Deno, with the Redis
// limiter, Postgres through `pg`, a stream consumer that stores usage, a sweeper for
// reservations that expire unsettled, and an in-process scheduler for billing.
//
// Several instances may share one Redis (or Redis Cluster) and one Postgres: the limiter
// state lives in Redis, the consumer group splits the streams' entries between instances,
// and billing runs under a Postgres advisory lock, so a tick on every instance is harmless.

import type http from "node:http";
import { hostname } from "node:os";
import { type Http2Bindings, type HttpBindings, serve } from "@hono/node-server";
import { Cron } from "croner";
import proxyaddr from "proxy-addr";
import type { InvoiceRunResult } from "../billing/invoice-run";
import { billingTick } from "../billing/tick";
import { type Config, loadConfig } from "../config";
import { withCoalescedSettles } from "../core/coalesced-store";
import { describeError } from "../core/errors";
import { guardedStore } from "../core/guarded-store";
import { leaseHolder } from "../core/lease-holder";
import { log } from "../core/log";
import { settleCoalescer } from "../core/settle-coalescer";
import type { DatabaseHandle } from "../db/database";
import { openNodeDatabase } from "../db/node";
import { pooledSnapshots } from "../db/snapshot-source";
import { createGateway } from "../http/app";
import { DEFAULT_PREFIX } from "../redis/keys";
import { openRedis } from "../redis/open-redis";
import { RedisLimiterStore } from "../redis/redis-limiter-store";
import { sweepAllTenants } from "../redis/reservation-sweep";
import { nodeSocket } from "../redis/resp/node-socket";
import { UsageConsumerLoop } from "../redis/usage-consumer-loop";
import { UsageStreamConsumer } from "../redis/usage-stream-consumer";
import { backgroundWork, settledWithin } from "./background-work";
import { type MetricsServer, selfHostedMetrics } from "./metrics-server";
import { PipelineMetrics, pipelineSources } from "./pipeline-metrics";
import { readinessOf } from "./readiness";
import { warnOnRedisSettings } from "./redis-settings";
import { checkDatabase } from "./schema-check";
import {
  BACKGROUND_TIMEOUT_MS,
  IDLE_POLL_MS,
  PG_POOL_MAX,
  SHUTDOWN_GRACE_MS,
  SHUTDOWN_POLL_WAIT_MS,
  SWEEP_EVERY_MS,
} from "./timings";

/** When billing runs: the same schedule as the Worker's Cron Trigger. */
export const BILLING_SCHEDULE = "*/15 * * * *";
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
  /** Count the gateway's per-call metrics (and serve /metrics). Default true; false is for measuring their cost. */
  metrics?: boolean;
  /** Serve /metrics on this port instead of the gateway's (0: any free port). Default: METRICS_PORT, else none. */
  metricsPort?: number;
  /** The metrics port's address. Default: METRICS_HOST, else 127.0.0.1 (whatever `hostname` is). */
  metricsHostname?: string;
}

export interface SelfHosted {
  url: string;
  /** Where /metrics is served: on the gateway's port, or on the metrics port; null with metrics off. */
  metricsUrl: string | null;
  config: Config;
  /** When the in-process scheduler runs billing next (null with billing off). */
  nextBillingAt(): Date | null;
  /** Runs the scheduler's billing tick now, as of `at` (default: now). */
  runBilling(at?: number): Promise<InvoiceRunResult>;
  /**
   * Waits for the work that outlives responses (settling calls) and stores every usage event
   * written so far: after it, the usage read shows every call answered before it was called.
   */
  flushUsage(): Promise<void>;
  /** Stops taking requests, finishes work in flight, stores what was read, and lets go of connections. */
  close(): Promise<void>;
}

export class SelfHostedConfigError extends Error {
  override name = "SelfHostedConfigError";
}

export async function startSelfHosted(options: SelfHostedOptions): Promise<SelfHosted> {
  // One env object for the process: the config cache is keyed by it.
  const env = { ...options.env };
  const config = loadConfig(env);
  if (!config.DATABASE_URL) throw new SelfHostedConfigError("DATABASE_URL is not set (postgres://...)");
  if (!config.RATE_LIMIT_REDIS_URL) throw new SelfHostedConfigError("RATE_LIMIT_REDIS_URL is not set (redis://...)");
  if (!config.ADMIN_TOKEN) log.warn("ADMIN_TOKEN is not set: the operator API refuses every request");
  if (config.KEY_SIGNING_SECRET.length === 0) {
    log.warn("KEY_SIGNING_SECRET is not set: new API keys are unsigned, and made-up keys cost a Postgres query each");
  }

  let trust: (address: string, hop: number) => boolean;
  try {
    trust = proxyaddr.compile(config.TRUSTED_PROXIES ?? []);
  } catch (err) {
    throw new SelfHostedConfigError(`TRUSTED_PROXIES: ${(err as Error).message}`);
  }

  const redis = openRedis(config, nodeSocket);
  // The consumer and the sweeper move large batches: on a connection of their own, with a
  // longer timeout, they never hold up (or reset) the limiter's connection.
  const background = openRedis(config, nodeSocket, { commandTimeoutMs: BACKGROUND_TIMEOUT_MS });
  const database = openNodeDatabase(config.DATABASE_URL, PG_POOL_MAX);
  // Not listening until Postgres answers with this code's schema: else every call would 500.
  // Unsafe Redis settings only warn (redis-settings.ts).
  await Promise.all([checkDatabase(database.pool, config.DATABASE_URL), warnOnRedisSettings(redis)]).catch(
    async (err: unknown) => {
      await Promise.allSettled([redis.close(), background.close(), database.close()]);
      throw err;
    },
  );
  // The pool is shared by every request; a request's "close" must not end it.
  const shared: DatabaseHandle = { db: database.db, close: async () => {} };

  const prefix = options.redisPrefix ?? options.env.AEGIS_REDIS_PREFIX ?? DEFAULT_PREFIX;
  const limiterOptions = {
    prefix,
    loadSnapshot: pooledSnapshots(database.db, config),
    reservationTtlSeconds: config.RESERVATION_TTL_SECONDS,
    configRefreshSeconds: config.CONFIG_REFRESH_SECONDS,
    compactReports: config.RATE_LIMIT_REDIS_COMPACT_REPORTS,
  };
  // Lease reports go on the background connection: large, and not for the hot path's.
  const limiter = new RedisLimiterStore({ ...limiterOptions, redis, reportRedis: background });
  const sweeping = new RedisLimiterStore({ ...limiterOptions, redis: background });
  // The process's settles of one tenant go to Redis together, within SETTLE_WINDOW_MS.
  const settles = settleCoalescer({ windowMs: config.SETTLE_WINDOW_MS });
  const guarded = guardedStore(limiter, config.LIMITER_TIMEOUT_MS, config.LIMITER_LOAD_TIMEOUT_MS);
  const coalescing = config.SETTLE_WINDOW_MS === 0 ? guarded : withCoalescedSettles(guarded, settles);
  // Tenants in lease mode are admitted from leases the process holds (docs/architecture.md,
  // "Token leases"); every other tenant's calls pass through to the limiter as they are.
  const leases = coalescing.reportLease ? leaseHolder(coalescing) : undefined;
  const store = leases ?? coalescing;
  // The client's address, per request, for the upstream's X-Forwarded-For.
  const peers = new WeakMap<Request, string>();
  const metricsOn = options.metrics !== false;
  const metrics = selfHostedMetrics(config, {
    on: metricsOn,
    port: options.metricsPort ?? config.METRICS_PORT,
    hostname: options.metricsHostname ?? options.env.METRICS_HOST ?? "127.0.0.1",
  });
  // Set once the server listens; a /readyz before then finds no failed poll yet.
  let usageLoop: UsageConsumerLoop | undefined;
  const gateway = createGateway({
    openDatabase: () => shared,
    store: () => store,
    clientAddress: (c) => peers.get(c.req.raw),
    ...metrics.deps,
    readiness: readinessOf({ db: database.db, redis, consumerFailures: () => usageLoop?.failures ?? 0 }),
  });

  const { executionCtx, pending } = backgroundWork((err) => logError("background work failed", err));

  const server = serve({
    fetch: (request: Request, bindings: HttpBindings | Http2Bindings) => {
      // The socket's peer, or past the trusted proxies, the address they say they served.
      const peer = bindings.incoming.socket.remoteAddress ? proxyaddr(bindings.incoming as never, trust) : undefined;
      if (peer) peers.set(request, peer);
      return gateway.fetch(request, env, executionCtx as unknown as ExecutionContext);
    },
    port: options.port ?? 8787,
    hostname: options.hostname ?? "127.0.0.1",
  });
  const host = options.hostname ?? "127.0.0.1";
  let address: { port: number };
  let metricsServer: MetricsServer | null = null;
  try {
    address = await new Promise<{ port: number }>((resolve, reject) => {
      server.once("listening", () => resolve(server.address() as { port: number }));
      server.once("error", reject);
    });
    metricsServer = await metrics.listen();
  } catch (err) {
    (server as http.Server).close();
    await Promise.allSettled([redis.close(), background.close(), database.close()]);
    throw err;
  }

  const pipeline = new PipelineMetrics(metrics.prom.registry, pipelineSources(background, database.db, prefix));
  let stopping = false;
  const instance = options.instance ?? options.env.AEGIS_INSTANCE ?? hostname();
  const consumer = new UsageStreamConsumer({
    redis: background,
    prefix,
    openDatabase: () => shared,
    consumer: instance,
  });
  const usage = new UsageConsumerLoop(consumer, { idlePollMs: IDLE_POLL_MS, observe: (p) => pipeline.counted(p) });
  usageLoop = usage;
  usage.start();

  // Reservations that expire unsettled are recorded at their estimate. One sweep at a time.
  let sweep: Promise<unknown> | null = null;
  const sweeper = setInterval(() => {
    sweep ??= sweepAllTenants(sweeping, background, { prefix, keepGoing: () => !stopping })
      .catch((err: unknown) => logError("reservation sweep failed", err))
      .finally(() => {
        sweep = null;
      });
  }, SWEEP_EVERY_MS);

  // The scheduled minute decides the period, as the Cron Trigger's scheduledTime does.
  const runBilling = async (scheduled: number): Promise<InvoiceRunResult> => {
    const started = performance.now();
    try {
      const { run, delivery } = await billingTick(database.db, config, scheduled - (scheduled % 60_000));
      pipeline.invoiceRun((performance.now() - started) / 1000, run);
      log.info("billing tick", { period: run.period, invoices: run.created.length, webhooks: delivery });
      return run;
    } catch (err) {
      pipeline.invoiceRun((performance.now() - started) / 1000, null);
      throw err;
    }
  };
  let tick: Promise<void> | null = null;
  const billing =
    options.billing === false
      ? null
      : new Cron(BILLING_SCHEDULE, { protect: true, catch: (err) => logError("billing tick failed", err) }, (job) => {
          tick = runBilling(job.currentRun()?.getTime() ?? Date.now())
            .then(() => {})
            .finally(() => {
              tick = null;
            });
          return tick;
        });

  const url = `http://${host}:${address.port}`;
  return {
    url,
    metricsUrl: metricsServer?.url ?? (metricsOn ? `${url}/metrics` : null),
    config,
    nextBillingAt: () => billing?.nextRun() ?? null,
    runBilling: (at = Date.now()) => runBilling(at),
    async flushUsage() {
      // Replies being metered settle first (a leased call's settle adds to its lease's report).
      while (pending.size > 0) await Promise.allSettled([...pending]);
      await leases?.closeAll();
      await settles.flushAll();
      await usage.flush();
    },
    async close() {
      stopping = true;
      billing?.stop();
      clearInterval(sweeper);
      await metricsServer?.close();
      // Requests in flight may finish; connections still open after the grace period are cut.
      const grace = setTimeout(() => (server as http.Server).closeAllConnections(), SHUTDOWN_GRACE_MS);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      clearTimeout(grace);
      // Replies still being metered are usage: waited for (each is bounded by the meter's own
      // limits; a settle waits at most SETTLE_WINDOW_MS for its batch). A billing run is not:
      // cut short, its transaction rolls back and the next tick, on any instance, runs it again.
      await Promise.all([Promise.allSettled([...pending]), settledWithin([tick], SHUTDOWN_GRACE_MS)]);
      // Then leases go back with every call they admitted, and settles still gathering for
      // their window go now (each is bounded by LIMITER_TIMEOUT_MS).
      await leases?.closeAll(true);
      await settles.flushAll();
      // Whatever the last requests wrote to the streams is stored before leaving; a sweep
      // stuck on an unreachable Redis is not waited out in full.
      await Promise.all([usage.stop(), settledWithin([sweep], SHUTDOWN_POLL_WAIT_MS)]);
      await Promise.allSettled([redis.close(), background.close()]);
      await database.close();
    },
  };
}

const logError = (msg: string, err: unknown) => log.error(msg, { error: describeError(err) });
