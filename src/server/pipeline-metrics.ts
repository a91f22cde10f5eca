// The self-hosted pipeline's Prometheus metrics: usage moving from the Redis streams to
// Postgres, the dead letters, invoice runs and webhook deliveries. Counters move as the work
// happens; the gauges are read from Redis and Postgres when Prometheus scrapes.

import { sql } from "drizzle-orm";
import { Counter, Gauge, Histogram, type Registry } from "prom-client";
import type { InvoiceRunResult } from "../billing/invoice-run";
import { withTimeout } from "../core/timeout";
import { type Database, rowsOf } from "../db/database";
import { deadLetterKey, registryKey, tenantKeys } from "../redis/keys";
import type { RedisCommands } from "../redis/lua-script";
import type { PollResult } from "../redis/usage-stream-consumer";

export interface PipelineSources {
  /** Entries waiting in the tenants' streams to be stored: usage events and quota alerts. */
  pending(): Promise<number>;
  /** Events that could not be stored, kept in the dead-letter stream. */
  deadLetters(): Promise<number>;
  /** Webhook deliveries by status, from Postgres. */
  deliveries(): Promise<Record<string, number>>;
}

/** Streams asked per pipelined round trip when counting what waits. */
const STREAMS_PER_ROUND = 500;

/**
 * The gauges' sources: the streams' lengths, and deliveries counted in Postgres. The
 * consumer deletes what it stored, so a tenant stream's length is what waits to be stored.
 */
export function pipelineSources(redis: RedisCommands, db: Database, prefix: string): PipelineSources {
  return {
    pending: async () => {
      const members = await redis.send(["SMEMBERS", registryKey(prefix)]);
      const tenants = Array.isArray(members) ? members.map(String) : [];
      const rounds: Promise<number>[] = [];
      for (let i = 0; i < tenants.length; i += STREAMS_PER_ROUND) {
        const round = tenants.slice(i, i + STREAMS_PER_ROUND).map((t) => ["XLEN", tenantKeys(prefix, t).stream]);
        rounds.push(
          redis.pipeline(round).then((replies) =>
            replies.reduce<number>((sum, reply) => {
              if (reply instanceof Error) throw reply;
              return sum + Number(reply);
            }, 0),
          ),
        );
      }
      return (await Promise.all(rounds)).reduce((a, b) => a + b, 0);
    },
    deadLetters: async () => Number(await redis.send(["XLEN", deadLetterKey(prefix)])),
    deliveries: async () => {
      const rows = rowsOf<{ status: string; n: number }>(
        await db.execute(sql`SELECT status, count(*)::int AS n FROM webhook_deliveries GROUP BY status`),
      );
      return Object.fromEntries(rows.map((r) => [r.status, r.n]));
    },
  };
}

export class PipelineMetrics {
  private readonly events: Counter<"result">;
  private readonly failures: Counter;
  private readonly batches: Counter;
  private readonly lag: Gauge;
  private readonly runs: Counter<"result">;
  private readonly runTime: Histogram;
  private readonly invoices: Counter;

  constructor(registry: Registry, sources: PipelineSources) {
    const registers = [registry];
    // A read still running when the next scrape comes is joined, not started again: a slow
    // source (many tenants' streams, a Postgres under load) never has reads piling up.
    const running = new Map<string, Promise<unknown>>();
    /** A source's read, given up on (not stopped) after 2 s. */
    const bounded = <T>(name: string, get: () => Promise<T>): Promise<T> => {
      let read = running.get(name) as Promise<T> | undefined;
      if (!read) {
        read = get().finally(() => running.delete(name));
        running.set(name, read);
      }
      return withTimeout(read, 2_000, () => new Error(`${name} did not answer in 2 s`));
    };
    /** A source is up when each of its reads answered; a gauge whose read failed keeps its last value. */
    const source = async (name: string, reads: Promise<void>[]) => {
      const settled = await Promise.allSettled(reads);
      up.set({ source: name }, settled.every((r) => r.status === "fulfilled") ? 1 : 0);
    };
    // One read of each source per scrape, shared by the gauges, whose collect() calls
    // prom-client runs side by side: each answers from the same read.
    let scrape: Promise<void> | null = null;
    const refresh = (): Promise<void> =>
      (scrape ??= Promise.all([
        source("redis", [
          bounded("pending", sources.pending).then((n) => pending.set(n)),
          bounded("dead letters", sources.deadLetters).then((n) => deadLetters.set(n)),
        ]),
        source("postgres", [
          bounded("deliveries", sources.deliveries).then((counts) => {
            for (const status of ["pending", "delivered", "failed", "disabled"])
              deliveries.set({ status }, counts[status] ?? 0);
          }),
        ]),
      ]).then(() => {
        scrape = null;
      }));
    const up = new Gauge({
      name: "aegis_metrics_source_up",
      help: "1 when the last scrape could read the source (redis, postgres), else 0: its gauges keep their last value.",
      labelNames: ["source"] as const,
      registers,
      collect: refresh,
    });
    const pending: Gauge = new Gauge({
      name: "aegis_usage_pending",
      help: "Entries written to the tenants' usage streams (usage events, quota alerts) and not yet stored in Postgres.",
      registers,
      collect: refresh,
    });
    const deadLetters = new Gauge({
      name: "aegis_usage_dead_letters",
      help: "Usage events in the dead-letter stream.",
      registers,
      collect: refresh,
    });
    const deliveries = new Gauge({
      name: "aegis_webhook_deliveries",
      help: "Webhook deliveries by status.",
      labelNames: ["status"] as const,
      registers,
      collect: refresh,
    });
    this.events = new Counter({
      name: "aegis_usage_events_total",
      help: "Usage events the consumer handled: stored, duplicate, dead_lettered, or retried (left pending).",
      labelNames: ["result"] as const,
      registers,
    });
    this.lag = new Gauge({
      name: "aegis_usage_consumer_lag_seconds",
      help: "Age of the oldest usage event the consumer's last poll read; 0 when nothing was waiting.",
      registers,
    });
    this.batches = new Counter({
      name: "aegis_usage_ingest_batches_total",
      help: "Batches of usage the consumer handed to Postgres, whatever became of them.",
      registers,
    });
    this.failures = new Counter({
      name: "aegis_usage_ingest_failures_total",
      help: "Consumer polls that failed, or left a batch to retry (Postgres refused or out of reach).",
      registers,
    });
    this.runs = new Counter({
      name: "aegis_invoice_runs_total",
      help: "Invoice runs of this process, by result.",
      labelNames: ["result"] as const,
      registers,
    });
    this.runTime = new Histogram({
      name: "aegis_invoice_run_seconds",
      help: "How long an invoice run took.",
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.invoices = new Counter({
      name: "aegis_invoices_created_total",
      help: "Invoices the runs of this process created.",
      registers,
    });
  }

  /** A consumer poll that ended, with what it did, at `now`. */
  poll(result: PollResult, now = Date.now()): void {
    this.lag.set(result.oldestMs === null ? 0 : Math.max(0, (now - result.oldestMs) / 1000));
    this.events.inc({ result: "stored" }, result.stored);
    this.events.inc({ result: "duplicate" }, result.duplicates);
    this.events.inc({ result: "dead_lettered" }, result.deadLettered);
    this.events.inc({ result: "retried" }, result.retried);
    this.batches.inc(result.batches);
    if (result.retried > 0) this.failures.inc();
  }

  pollFailed(): void {
    this.failures.inc();
  }

  /** `poll`, counted when it ends, whichever way. */
  async counted(poll: Promise<PollResult>): Promise<PollResult> {
    try {
      const result = await poll;
      this.poll(result);
      return result;
    } catch (err) {
      this.pollFailed();
      throw err;
    }
  }

  invoiceRun(seconds: number, run: InvoiceRunResult | null): void {
    this.runs.inc({ result: run ? "ok" : "failed" });
    this.runTime.observe(seconds);
    if (run) this.invoices.inc(run.created.length);
  }
}
