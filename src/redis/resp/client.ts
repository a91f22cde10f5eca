// The Redis client: lazy connect, pipelining over one connection, and reconnect with backoff.

import { Connection } from "./connection";
import type { RedisArg } from "./encoder";
import { RedisClosedError, RedisServerError } from "./errors";
import type { RedisReply } from "./reply";
import type { SocketConnector } from "./socket";
import { parseRedisUrl, type RedisConnectionOptions } from "./url";

export interface RedisClientOptions {
  /** `redis://[user[:password]@]host[:port][/db]`, `rediss://...` for TLS, or the parsed parts. */
  url: string | (Partial<RedisConnectionOptions> & { host: string });
  /** The runtime's socket: `nodeSocket` from ./node-socket, or `cloudflareSocket` from ./cloudflare-socket. */
  connect: SocketConnector;
  /** TCP connect plus TLS handshake. Default 1000. */
  connectTimeoutMs?: number;
  /** How long a command may wait for its reply before the connection is reset. Default 1000. */
  commandTimeoutMs?: number;
  /** 3 sends HELLO 3: maps, doubles, booleans and pushes. Default 2. */
  protocol?: 2 | 3;
  /** The longest wait between failed connects. Default 2000. */
  maxReconnectDelayMs?: number;
  /** RESP3 pushes (client tracking, pub/sub). A listener that throws is ignored. */
  onPush?: (message: RedisReply[]) => void;
  /** The clock the reconnect backoff reads, in ms; injectable for tests. Default Date.now. */
  now?: () => number;
}

const FIRST_RECONNECT_DELAY_MS = 50;

/**
 * A Redis client over one pipelined connection. Commands are matched to replies in order, so it
 * is not for blocking or subscribe-mode commands that would hold the connection past the command
 * timeout.
 *
 * Failure policy: a command whose outcome is unknown (timeout, lost connection) rejects and is
 * never retried here; callers own their deadlines and their retry decisions. While reconnecting
 * after a failed connect, commands fail fast with RedisClosedError instead of queueing.
 *
 * @example
 * const client = new RedisClient({ url: "redis://127.0.0.1:6379/0", connect: nodeSocket });
 * await client.send(["SET", "greeting", "hello"]);
 * const [a, b] = await client.pipeline([["INCR", "n"], ["GET", "greeting"]]);
 * await client.close();
 */
export class RedisClient {
  readonly #target: RedisConnectionOptions;
  readonly #connect: SocketConnector;
  readonly #connectTimeoutMs: number;
  readonly #commandTimeoutMs: number;
  readonly #protocol: 2 | 3;
  readonly #maxReconnectDelayMs: number;
  readonly #onPush: ((message: RedisReply[]) => void) | undefined;
  readonly #now: () => number;
  #connection: Connection | undefined;
  #closed = false;
  #failures = 0;
  #retryAt = 0;
  #lastError: Error | undefined;

  constructor(options: RedisClientOptions) {
    const { url } = options;
    this.#target =
      typeof url === "string"
        ? parseRedisUrl(url)
        : {
            host: url.host,
            port: url.port ?? 6379,
            tls: url.tls ?? false,
            username: url.username,
            password: url.password,
            database: url.database ?? 0,
          };
    this.#connect = options.connect;
    this.#connectTimeoutMs = positive(options.connectTimeoutMs ?? 1000, "connectTimeoutMs");
    this.#commandTimeoutMs = positive(options.commandTimeoutMs ?? 1000, "commandTimeoutMs");
    this.#maxReconnectDelayMs = positive(options.maxReconnectDelayMs ?? 2000, "maxReconnectDelayMs");
    this.#protocol = options.protocol ?? 2;
    if (this.#protocol !== 2 && this.#protocol !== 3) throw new TypeError("protocol must be 2 or 3");
    const onPush = options.onPush;
    this.#onPush =
      onPush &&
      ((message) => {
        try {
          onPush(message);
        } catch {
          // A listener's bug must not take down the connection that every command shares.
        }
      });
    this.#now = options.now ?? Date.now;
  }

  /** True while a connection is open and past its handshake. */
  get connected(): boolean {
    return this.#connection?.ready ?? false;
  }

  /**
   * Sends one command and resolves with its reply; an error reply rejects with RedisServerError.
   * Rejects with RedisTimeoutError or RedisClosedError if the outcome is unknown.
   */
  async send(args: readonly RedisArg[]): Promise<RedisReply> {
    const [reply] = await this.#open().request([args]);
    if (reply instanceof RedisServerError) throw reply;
    return reply ?? null;
  }

  /**
   * Sends the commands in one write and resolves with their replies in order; error replies are
   * returned in place. Rejects as a whole if the connection fails or a reply times out.
   */
  async pipeline(commands: readonly (readonly RedisArg[])[]): Promise<(RedisReply | RedisServerError)[]> {
    if (commands.length === 0) return [];
    return this.#open().request(commands);
  }

  /** Refuses new commands, lets the ones in flight finish, then closes the connection. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#connection?.end();
  }

  #open(): Connection {
    if (this.#closed) throw new RedisClosedError("the Redis client is closed");
    if (this.#connection) return this.#connection;
    const wait = this.#retryAt - this.#now();
    if (wait > 0) {
      throw new RedisClosedError(
        `not connected to Redis at ${this.#where()}; the next attempt is in ${wait} ms (${this.#failures} failed)`,
        { cause: this.#lastError },
      );
    }
    const connection: Connection = new Connection({
      socket: {
        host: this.#target.host,
        port: this.#target.port,
        tls: this.#target.tls,
        connectTimeoutMs: this.#connectTimeoutMs,
      },
      connect: this.#connect,
      handshake: handshake(this.#target, this.#protocol),
      commandTimeoutMs: this.#commandTimeoutMs,
      onPush: this.#onPush,
      onReady: () => {
        this.#failures = 0;
        this.#retryAt = 0;
        this.#lastError = undefined;
      },
      // Runs inside the teardown, before any rejected caller can react, so no command slips in
      // ahead of the backoff.
      onClosed: (err, wasReady) => {
        if (this.#connection === connection) this.#connection = undefined;
        if (wasReady) return;
        this.#failures++;
        this.#lastError = err;
        const delay = FIRST_RECONNECT_DELAY_MS * 2 ** Math.min(this.#failures - 1, 30);
        this.#retryAt = this.#now() + Math.min(delay, this.#maxReconnectDelayMs);
      },
    });
    this.#connection = connection;
    connection.start();
    return connection;
  }

  #where(): string {
    const { host, port } = this.#target;
    return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  }
}

/** HELLO 3 authenticates too; otherwise AUTH. SELECT last, as it needs the authenticated session. */
function handshake(target: RedisConnectionOptions, protocol: 2 | 3): RedisArg[][] {
  const { username, password, database } = target;
  const commands: RedisArg[][] = [];
  if (protocol === 3) {
    commands.push(password === undefined ? ["HELLO", 3] : ["HELLO", 3, "AUTH", username ?? "default", password]);
  } else if (password !== undefined) {
    commands.push(username === undefined ? ["AUTH", password] : ["AUTH", username, password]);
  }
  if (database !== 0) commands.push(["SELECT", database]);
  return commands;
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be a positive number of milliseconds`);
  return value;
}
