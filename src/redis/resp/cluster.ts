// A Redis Cluster client: routes each command to the master that owns its key's slot, one
// pipelined RedisClient per master, and follows MOVED and ASK when slots move.
//
// Every key of one tenant carries the {tenantId} hash tag, so a limiter script's keys always
// share a slot; the commands here need no cross-slot support.

import { RedisClient, type RedisClientOptions } from "./client";
import type { RedisArg } from "./encoder";
import { RedisClosedError, RedisServerError } from "./errors";
import type { RedisReply } from "./reply";
import { parseRedisUrl, type RedisConnectionOptions } from "./url";

const SLOTS = 16_384;
/** Redirections and retries for one command before giving up (about 2.5 s of TRYAGAIN). */
const MAX_REDIRECTS = 8;
const RETRYABLE = new Set(["MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN"]);

/** CRC16/XMODEM, the checksum Redis Cluster hashes keys with. */
function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

const encoder = new TextEncoder();

/** The slot of a key: of its hash tag (the first non-empty `{...}`) when it has one. */
export function keySlot(key: string): number {
  const open = key.indexOf("{");
  if (open !== -1) {
    const close = key.indexOf("}", open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  return crc16(encoder.encode(key)) % SLOTS;
}

/** The key a command is routed by, or null for keyless commands (any master will do). */
export function routingKey(args: readonly RedisArg[]): string | null {
  const name = String(args[0]).toUpperCase();
  const at = (i: number) => (args[i] === undefined ? null : String(args[i]));
  switch (name) {
    case "EVAL":
    case "EVALSHA":
      return Number(args[2]) > 0 ? at(3) : null;
    case "XREADGROUP":
    case "XREAD": {
      const i = args.findIndex((a) => String(a).toUpperCase() === "STREAMS");
      return i === -1 ? null : at(i + 1);
    }
    case "XGROUP":
    case "XINFO":
      return at(2);
    case "PING":
    case "SCRIPT":
    case "INFO":
    case "CLUSTER":
    case "SCAN":
    case "FLUSHALL":
    case "DBSIZE":
    case "TIME":
      return null;
    default:
      return at(1);
  }
}

export interface RedisClusterOptions extends Omit<RedisClientOptions, "url"> {
  /** One or more seed nodes, `redis://[user:password@]host:port` (rediss:// for TLS). */
  seeds: string[];
}

type Address = string;

/**
 * A cluster client with the same `send` / `pipeline` / `close` surface as RedisClient.
 * Database numbers do not exist in a cluster: a seed's `/db` is ignored.
 */
export class RedisCluster {
  readonly #options: RedisClusterOptions;
  readonly #seeds: RedisConnectionOptions[];
  readonly #nodes = new Map<Address, RedisClient>();
  #slots: (Address | undefined)[] = [];
  #refreshing: Promise<void> | undefined;
  #closed = false;

  constructor(options: RedisClusterOptions) {
    if (options.seeds.length === 0) throw new TypeError("a Redis Cluster needs at least one seed URL");
    this.#options = options;
    this.#seeds = options.seeds.map((s) => ({ ...parseRedisUrl(s), database: 0 }));
  }

  async send(args: readonly RedisArg[]): Promise<RedisReply> {
    const [reply] = await this.pipeline([args]);
    if (reply instanceof RedisServerError) throw reply;
    return reply ?? null;
  }

  /** Sends each command to its slot's master, the masters in parallel; replies come back in order. */
  async pipeline(commands: readonly (readonly RedisArg[])[]): Promise<(RedisReply | RedisServerError)[]> {
    if (this.#closed) throw new RedisClosedError("the cluster client is closed");
    if (this.#slots.length === 0) await this.#refresh();
    const replies: (RedisReply | RedisServerError)[] = new Array(commands.length);
    const byNode = new Map<Address, number[]>();
    for (const [i, command] of commands.entries()) {
      const address = this.#addressFor(command);
      const list = byNode.get(address) ?? [];
      list.push(i);
      byNode.set(address, list);
    }
    await Promise.all(
      [...byNode].map(async ([address, indexes]) => {
        let answers: (RedisReply | RedisServerError)[];
        try {
          answers = await this.#node(address).pipeline(indexes.map((i) => commands[i] as RedisArg[]));
        } catch (err) {
          // A master that cannot be reached may have failed over: learn the new layout.
          void this.#refresh().catch(() => {});
          throw err;
        }
        for (const [k, i] of indexes.entries()) replies[i] = answers[k] ?? null;
      }),
    );
    for (const [i, reply] of replies.entries()) {
      if (reply instanceof RedisServerError && RETRYABLE.has(reply.code)) {
        replies[i] = await this.#retried(commands[i] as RedisArg[], reply);
      }
    }
    return replies;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#nodes.values()].map((n) => n.close()));
    this.#nodes.clear();
  }

  /**
   * Follows a redirect or waits out a transient refusal:
   * - MOVED: the slot has a new owner; learn the new layout and go there.
   * - ASK: the slot is migrating and this key is already on the target; ask it once.
   * - TRYAGAIN: a multi-key command during a migration, with some keys on either side;
   *   CLUSTERDOWN: a failover in progress. Both pass within moments: retry with backoff.
   */
  async #retried(command: readonly RedisArg[], first: RedisServerError): Promise<RedisReply | RedisServerError> {
    let error = first;
    for (let hop = 0; hop < MAX_REDIRECTS; hop++) {
      // "MOVED 3999 127.0.0.1:6381" / "ASK 3999 127.0.0.1:6381"
      const [, , target] = error.message.split(" ");
      let reply: RedisReply | RedisServerError;
      if (error.code === "ASK" && target) {
        const answers = await this.#node(target).pipeline([["ASKING"], command]);
        reply = answers[1] ?? null;
      } else if (error.code === "MOVED" && target) {
        void this.#refresh().catch(() => {});
        const [answer] = await this.#node(target).pipeline([command]);
        reply = answer ?? null;
      } else {
        await new Promise((r) => setTimeout(r, 10 * 2 ** hop));
        if (error.code === "CLUSTERDOWN") await this.#refresh().catch(() => {});
        const [answer] = await this.#node(this.#addressFor(command)).pipeline([command]);
        reply = answer ?? null;
      }
      if (!(reply instanceof RedisServerError) || !RETRYABLE.has(reply.code)) return reply;
      error = reply;
    }
    return error;
  }

  #addressFor(command: readonly RedisArg[]): Address {
    const key = routingKey(command);
    const owner = key === null ? undefined : this.#slots[keySlot(key)];
    const fallback = this.#slots.find((a) => a !== undefined);
    const address = owner ?? fallback;
    if (!address) throw new RedisClosedError("no Redis Cluster master is known; CLUSTER SLOTS returned nothing");
    return address;
  }

  #node(address: Address): RedisClient {
    let node = this.#nodes.get(address);
    if (!node) {
      const split = address.lastIndexOf(":");
      const seed = this.#seeds[0] as RedisConnectionOptions;
      node = new RedisClient({
        ...this.#options,
        url: {
          ...seed,
          host: address.slice(0, split).replace(/^\[|\]$/g, ""),
          port: Number(address.slice(split + 1)),
          database: 0,
        },
      });
      this.#nodes.set(address, node);
    }
    return node;
  }

  /** Reads the slot map from the first seed or known master that answers, once however many ask. */
  #refresh(): Promise<void> {
    this.#refreshing ??= (async () => {
      const candidates = [...new Set([...this.#nodes.keys(), ...this.#seeds.map((s) => `${s.host}:${s.port}`)])];
      let lastError: unknown;
      for (const address of candidates) {
        try {
          const reply = await this.#node(address).send(["CLUSTER", "SLOTS"]);
          const slots: (Address | undefined)[] = new Array(SLOTS);
          for (const range of Array.isArray(reply) ? reply : []) {
            if (!Array.isArray(range)) continue;
            const [from, to, master] = range as [number, number, RedisReply[]];
            // An empty host means "the node you asked".
            const host = String(master[0]) || address.slice(0, address.lastIndexOf(":"));
            const owner = `${host}:${Number(master[1])}`;
            for (let s = Number(from); s <= Number(to); s++) slots[s] = owner;
          }
          this.#slots = slots;
          return;
        } catch (err) {
          lastError = err;
        }
      }
      throw lastError instanceof Error ? lastError : new RedisClosedError("no Redis Cluster node answered");
    })().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }
}
