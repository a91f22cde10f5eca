// The self-hosted usage sink: reads the tenants' usage streams (the Redis limiter's outbox)
// through a consumer group and stores them with the queue consumer's code.
//
// An entry is acknowledged, and deleted from its stream, only after its batch commits in
// Postgres. Entries a crashed consumer read but never acknowledged stay pending: this
// consumer re-reads its own pending entries after a failure or a restart, and claims other
// consumers' entries once they have sat idle for `claimIdleMs`. Event ids make a second
// insert of the same event a no-op, so re-reading is always safe.

import { describeError } from "../core/errors";
import { log } from "../core/log";
import type { DatabaseHandle } from "../db/database";
import {
  type ConsumedMessage,
  type ConsumeResult,
  consumeUsageBatch,
  type DeadLetter,
} from "../metering/queue-consumer";
import { DEFAULT_PREFIX, deadLetterKey, INGEST_GROUP, registryKey, tenantKeys } from "./keys";
import type { RedisCommands } from "./lua-script";
import type { RedisReply } from "./resp/index";
import { RedisServerError } from "./resp/index";
import { eventBodyOf, eventCountOf } from "./usage-stream-entry";

/**
 * Most events stored in one batch (one statement, one transaction). A lease's report is one
 * entry of up to 1,000 events, so a page of entries is cut by the events it stands for.
 */
const MAX_BATCH_EVENTS = 10_000;

/** The entries in runs of at most `max` events each (an entry larger than `max` alone). */
function byEvents<E extends { fields: RedisReply[] | null }>(entries: E[], max: number): E[][] {
  const out: E[][] = [];
  let run: E[] = [];
  let events = 0;
  for (const e of entries) {
    const n = e.fields === null ? 0 : eventCountOf(e.fields);
    if (run.length > 0 && events + n > max) {
      out.push(run);
      run = [];
      events = 0;
    }
    run.push(e);
    events += n;
  }
  if (run.length > 0) out.push(run);
  return out;
}

/** How long another consumer's entry sits unacknowledged before this one claims it. */
export const DEFAULT_CLAIM_IDLE_MS = 30_000;

export interface StreamConsumerOptions {
  redis: RedisCommands;
  openDatabase(): DatabaseHandle;
  /** This consumer's name in the group. Keep it stable across restarts of one instance. */
  consumer: string;
  prefix?: string;
  /** Most entries read from one stream per poll. */
  perStream?: number;
  /** Claim another consumer's pending entries after they sat this long unacknowledged. */
  claimIdleMs?: number;
  /** How often the set of tenants is read again. */
  registryRefreshMs?: number;
  clock?: () => number;
}

export interface PollResult extends ConsumeResult {
  read: number;
  /** Batches handed to Postgres: one per round of streams that had entries. */
  batches: number;
  /** When the oldest entry read was written (its stream id's milliseconds); null when none was read. */
  oldestMs: number | null;
}

type Entry = [id: string, fields: RedisReply[] | null];

/** Streams read together in one pipelined round trip. */
const STREAMS_PER_ROUND = 200;

export class UsageStreamConsumer {
  private readonly prefix: string;
  private readonly clock: () => number;
  private tenants: string[] = [];
  private tenantsReadAt = Number.NEGATIVE_INFINITY;
  private lastClaimAt = Number.NEGATIVE_INFINITY;
  /** Re-read this consumer's own pending entries: at start, and after a batch was not stored. */
  private readOwnPending = true;

  constructor(private readonly options: StreamConsumerOptions) {
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.clock = options.clock ?? (() => Date.now());
  }

  /**
   * Reads what is waiting in every tenant's stream, stores it, and acknowledges what was
   * stored. `refreshTenants` reads the set of tenants again first, to find streams made
   * since it was last read (a flush that must miss none).
   */
  async poll(options: { refreshTenants?: boolean } = {}): Promise<PollResult> {
    const total: PollResult = {
      read: 0,
      batches: 0,
      stored: 0,
      duplicates: 0,
      deadLettered: 0,
      retried: 0,
      oldestMs: null,
    };
    if (options.refreshTenants) this.tenantsReadAt = Number.NEGATIVE_INFINITY;
    const tenants = await this.registry();
    const claim = this.clock() - this.lastClaimAt >= (this.options.claimIdleMs ?? DEFAULT_CLAIM_IDLE_MS) / 2;
    if (claim) this.lastClaimAt = this.clock();
    const pendingFirst = this.readOwnPending;
    this.readOwnPending = false;
    for (let i = 0; i < tenants.length; i += STREAMS_PER_ROUND) {
      const round = tenants.slice(i, i + STREAMS_PER_ROUND);
      const entries = await this.read(round, pendingFirst, claim);
      if (entries.length === 0) continue;
      for (const { id } of entries) {
        const ms = Number.parseInt(id, 10);
        if (Number.isFinite(ms) && (total.oldestMs === null || ms < total.oldestMs)) total.oldestMs = ms;
      }
      for (const batch of byEvents(entries, MAX_BATCH_EVENTS)) {
        const r = await this.store(batch);
        total.batches++;
        total.read += batch.length;
        total.stored += r.stored;
        total.duplicates += r.duplicates;
        total.deadLettered += r.deadLettered;
        total.retried += r.retried;
      }
    }
    return total;
  }

  private async registry(): Promise<string[]> {
    if (this.clock() - this.tenantsReadAt >= (this.options.registryRefreshMs ?? 5_000)) {
      const members = await this.options.redis.send(["SMEMBERS", registryKey(this.prefix)]);
      this.tenants = Array.isArray(members) ? members.map(String).sort() : [];
      this.tenantsReadAt = this.clock();
    }
    return this.tenants;
  }

  private async read(
    tenants: string[],
    ownPending: boolean,
    claim: boolean,
  ): Promise<{ tenantId: string; stream: string; id: string; fields: RedisReply[] | null }[]> {
    const { redis, consumer } = this.options;
    const count = this.options.perStream ?? 500;
    const streams = tenants.map((t) => tenantKeys(this.prefix, t).stream);
    const commands: (string | number)[][] = [];
    const kinds: ("claim" | "pending" | "read")[] = [];
    for (const stream of streams) {
      if (claim) {
        kinds.push("claim");
        commands.push([
          "XAUTOCLAIM",
          stream,
          INGEST_GROUP,
          consumer,
          this.options.claimIdleMs ?? DEFAULT_CLAIM_IDLE_MS,
          "0-0",
          "COUNT",
          count,
        ]);
      }
      // "0": what this consumer read before (a restart, a failed batch); ">": what is new.
      for (const from of ownPending ? ["0", ">"] : [">"]) {
        kinds.push(from === "0" ? "pending" : "read");
        commands.push(["XREADGROUP", "GROUP", INGEST_GROUP, consumer, "COUNT", count, "STREAMS", stream, from]);
      }
    }
    const perStream = kinds.length / Math.max(1, streams.length);
    const replies = await redis.pipeline(commands);
    const out: { tenantId: string; stream: string; id: string; fields: RedisReply[] | null }[] = [];
    const seen = new Set<string>();
    for (const [n, stream] of streams.entries()) {
      const tenantId = tenants[n] as string;
      let nogroup = false;
      for (let j = n * perStream; j < (n + 1) * perStream; j++) {
        const reply = replies[j] ?? null;
        if (reply instanceof RedisServerError) {
          if (reply.code !== "NOGROUP") throw reply;
          nogroup = true;
          continue;
        }
        const entries = kinds[j] === "claim" ? claimedEntries(reply) : readEntries(reply);
        // A page of old pending entries: there may be more behind it, so read "0" again next poll.
        if (kinds[j] === "pending" && entries.length > 0) this.readOwnPending = true;
        for (const [id, fields] of entries) {
          const key = `${stream}\u0000${id}`;
          if (seen.has(key)) continue;
          seen.add(key);
          out.push({ tenantId, stream, id, fields });
        }
      }
      if (nogroup) {
        // A stream whose group is gone (deleted by hand, say): read it again from its first entry.
        await redis.send(["XGROUP", "CREATE", stream, INGEST_GROUP, "0", "MKSTREAM"]).catch((err: unknown) => {
          if (!(err instanceof RedisServerError && err.code === "BUSYGROUP")) throw err;
        });
      }
    }
    return out;
  }

  private async store(
    entries: { tenantId: string; stream: string; id: string; fields: RedisReply[] | null }[],
  ): Promise<ConsumeResult> {
    const acked = new Map<string, string[]>();
    const ack = (stream: string, id: string) => {
      const ids = acked.get(stream) ?? [];
      ids.push(id);
      acked.set(stream, ids);
    };
    // An entry with no fields was deleted after it was stored: only its acknowledgement is left to do.
    for (const e of entries) if (e.fields === null) ack(e.stream, e.id);
    const messages: ConsumedMessage[] = entries
      .filter((e) => e.fields !== null)
      .map((e) => ({
        id: `${e.stream}/${e.id}`,
        attempts: 1,
        body: eventBodyOf(e.tenantId, e.fields),
        ack: () => ack(e.stream, e.id),
        retry: () => {
          this.readOwnPending = true;
        },
      }));
    const result = await consumeUsageBatch(messages, {
      openDatabase: this.options.openDatabase,
      deadLetter: (letters) => this.deadLetter(letters),
    });
    if (acked.size > 0) {
      // Acknowledge, then delete: the stream keeps only what is not yet stored.
      const commands: (string | number)[][] = [];
      for (const [stream, ids] of acked) {
        commands.push(["XACK", stream, INGEST_GROUP, ...ids], ["XDEL", stream, ...ids]);
      }
      try {
        for (const reply of await this.options.redis.pipeline(commands)) {
          if (reply instanceof RedisServerError) throw reply;
        }
      } catch (err) {
        // Stored but not acknowledged: the entries come back and are skipped as duplicates.
        this.readOwnPending = true;
        log.error("usage stream ack failed", { error: describeError(err) });
      }
    }
    return result;
  }

  private async deadLetter(letters: DeadLetter[]): Promise<void> {
    const commands = letters.map((l) => ["XADD", deadLetterKey(this.prefix), "*", "letter", JSON.stringify(l)]);
    for (const reply of await this.options.redis.pipeline(commands)) {
      if (reply instanceof RedisServerError) throw reply;
    }
  }
}

function readEntries(reply: RedisReply): Entry[] {
  // XREADGROUP: [[stream, [[id, fields], ...]]], or null when nothing is waiting. RESP3 answers with a map.
  if (reply === null) return [];
  const streams =
    reply instanceof Map ? [...reply.values()] : Array.isArray(reply) ? reply.map((s) => (s as RedisReply[])[1]) : [];
  return streams.flatMap((entries) => (Array.isArray(entries) ? (entries as Entry[]) : []));
}

function claimedEntries(reply: RedisReply): Entry[] {
  // XAUTOCLAIM: [next-id, [[id, fields], ...], [deleted ids]]; entries deleted meanwhile have null fields.
  if (!Array.isArray(reply) || !Array.isArray(reply[1])) return [];
  return (reply[1] as Entry[]).filter((e) => Array.isArray(e) && e[1] !== null);
}
