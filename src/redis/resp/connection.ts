// One socket's life: connect, handshake, the FIFO of commands awaiting replies, timeouts, teardown.

import { concat } from "../../core/bytes";
import { encodeCommands, type RedisArg } from "./encoder";
import { RedisClosedError, RedisProtocolError, RedisServerError, RedisTimeoutError } from "./errors";
import { RespParser } from "./parser";
import type { RedisReply } from "./reply";
import type { RedisSocket, SocketConnector, SocketOptions } from "./socket";

export interface ConnectionConfig {
  socket: SocketOptions;
  connect: SocketConnector;
  /** Sent first, pipelined, before any user command: HELLO / AUTH / SELECT. */
  handshake: RedisArg[][];
  commandTimeoutMs: number;
  onPush?: (message: RedisReply[]) => void;
  /** Called once, as soon as the handshake succeeded. */
  onReady(): void;
  /** Called once, when the connection is gone; `wasReady` tells a failed connect from a lost connection. */
  onClosed(err: Error, wasReady: boolean): void;
}

/** A command written (or about to be) and awaiting its reply. */
interface Pending {
  readonly name: string;
  deadline: number;
  answer(reply: RedisReply): void;
  fail(err: Error): void;
}

export class Connection {
  readonly #config: ConnectionConfig;
  readonly #parser: RespParser;
  #state: "connecting" | "ready" | "closed" = "connecting";
  #socket: RedisSocket | undefined;
  #closedError: Error = new RedisClosedError("connection closed");
  // Replies carry no id: the n-th reply answers the n-th command written. Read from #head, so
  // taking the oldest is O(1).
  #inflight: (Pending | undefined)[] = [];
  #head = 0;
  // User commands sent while connecting wait here, so the handshake goes first. They are not
  // pipelined behind it: if SELECT failed, they would run in the wrong database.
  #waiting: { bytes: Uint8Array; entries: Pending[] }[] = [];
  #outgoing: Uint8Array[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #ending = false;
  #ended: () => void = () => {};
  readonly #endedPromise = new Promise<void>((resolve) => {
    this.#ended = resolve;
  });

  constructor(config: ConnectionConfig) {
    this.#config = config;
    this.#parser = new RespParser((reply) => this.#onReply(reply), { onPush: config.onPush });
  }

  /** Connects and shakes hands; the outcome arrives through onReady / onClosed, never as a rejection. */
  start(): void {
    void this.#start();
  }

  get ready(): boolean {
    return this.#state === "ready";
  }

  /**
   * Sends commands as one write; resolves with one reply per command, server errors in place.
   * Rejects with the error that ended the connection if it ends first.
   */
  request(commands: readonly (readonly RedisArg[])[], beforeHandshake = false): Promise<RedisReply[]> {
    return new Promise((resolve, reject) => {
      const bytes = encodeCommands(commands);
      const replies: RedisReply[] = new Array(commands.length);
      let remaining = commands.length;
      const entries = commands.map(
        (args, i): Pending => ({
          name: commandName(args),
          deadline: 0,
          answer: (reply) => {
            replies[i] = reply;
            if (--remaining === 0) resolve(replies);
          },
          fail: reject,
        }),
      );
      if (this.#state === "closed") reject(this.#closedError);
      else if (this.#state === "connecting" && !beforeHandshake) this.#waiting.push({ bytes, entries });
      else this.#transmit(bytes, entries);
    });
  }

  /** Closes once every command already sent has its reply (each is bounded by its timeout). */
  end(): Promise<void> {
    this.#ending = true;
    this.#endIfIdle();
    return this.#endedPromise;
  }

  /** Tears the connection down now: every command not yet answered rejects with `err`. */
  destroy(err: Error): void {
    if (this.#state === "closed") return;
    const wasReady = this.#state === "ready";
    this.#state = "closed";
    this.#closedError = err;
    this.#disarm();
    this.#socket?.close();
    const inflight = this.#inflight.slice(this.#head);
    const waiting = this.#waiting;
    this.#inflight = [];
    this.#head = 0;
    this.#waiting = [];
    this.#outgoing = [];
    for (const entry of inflight) entry?.fail(err);
    for (const { entries } of waiting) for (const entry of entries) entry.fail(err);
    this.#config.onClosed(err, wasReady);
    this.#ended();
  }

  async #start(): Promise<void> {
    try {
      const socket = await this.#config.connect(this.#config.socket, {
        onData: (chunk) => this.#onData(chunk),
        onClose: (err) =>
          this.destroy(
            err instanceof RedisClosedError
              ? err
              : new RedisClosedError("connection closed by the server", { cause: err }),
          ),
      });
      if (this.#state === "closed") {
        socket.close();
        return;
      }
      this.#socket = socket;
      if (this.#config.handshake.length > 0) {
        const replies = await this.request(this.#config.handshake, true);
        const refused = replies.find((reply) => reply instanceof RedisServerError);
        if (refused) throw refused;
      }
      if (this.#state !== "connecting") return;
      this.#state = "ready";
      this.#config.onReady();
      const waiting = this.#waiting;
      this.#waiting = [];
      for (const { bytes, entries } of waiting) this.#transmit(bytes, entries);
      this.#endIfIdle();
    } catch (err) {
      this.destroy(err instanceof Error ? err : new RedisClosedError("connect failed", { cause: err }));
    }
  }

  #transmit(bytes: Uint8Array, entries: Pending[]): void {
    const deadline = Date.now() + this.#config.commandTimeoutMs;
    for (const entry of entries) {
      entry.deadline = deadline;
      this.#inflight.push(entry);
    }
    // Commands sent in the same tick go out in one write: under load that is one packet, not hundreds.
    if (this.#outgoing.push(bytes) === 1) queueMicrotask(() => this.#flush());
    this.#arm();
  }

  #flush(): void {
    const parts = this.#outgoing;
    this.#outgoing = [];
    if (this.#state === "closed" || parts.length === 0 || !this.#socket) return;
    try {
      this.#socket.write(parts.length === 1 ? (parts[0] as Uint8Array) : concat(parts));
    } catch (err) {
      // Adapters report write failures through onClose; this guards a microtask against one that throws.
      this.destroy(new RedisClosedError("write failed", { cause: err }));
    }
  }

  #onData(chunk: Uint8Array): void {
    if (this.#state === "closed") return;
    try {
      this.#parser.feed(chunk);
    } catch (err) {
      this.destroy(
        err instanceof RedisProtocolError ? err : new RedisProtocolError("failed to read a reply", { cause: err }),
      );
    }
  }

  #onReply(reply: RedisReply): void {
    if (this.#state === "closed") return;
    const entry = this.#inflight[this.#head];
    if (entry === undefined) {
      // Redis speaks first only to refuse us (e.g. maxclients) and then hangs up.
      const detail = reply instanceof RedisServerError ? `: ${reply.message}` : "";
      this.destroy(new RedisProtocolError(`a reply arrived with no command waiting for it${detail}`));
      return;
    }
    this.#inflight[this.#head++] = undefined;
    if (this.#head === this.#inflight.length) {
      this.#inflight = [];
      this.#head = 0;
      this.#disarm();
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#inflight.length) {
      this.#inflight = this.#inflight.slice(this.#head);
      this.#head = 0;
    }
    entry.answer(reply);
    this.#endIfIdle();
  }

  // One timer, for the oldest command: deadlines grow along the FIFO, so it is always due first.
  #arm(): void {
    const oldest = this.#inflight[this.#head];
    if (this.#timer !== undefined || oldest === undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const head = this.#inflight[this.#head];
      if (head === undefined || this.#state === "closed") return;
      if (Date.now() < head.deadline) return this.#arm();
      // Replies are matched by position, so a late reply would be taken as the answer to the next
      // command. The only safe way past a missing reply is to drop the connection and everything on it.
      this.destroy(
        new RedisTimeoutError(
          `no reply to ${head.name} within ${this.#config.commandTimeoutMs} ms; the connection was reset`,
        ),
      );
    }, oldest.deadline - Date.now());
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #endIfIdle(): void {
    if (this.#ending && this.#state === "ready" && this.#head === this.#inflight.length) {
      this.destroy(new RedisClosedError("the Redis client is closed"));
    }
  }
}

function commandName(args: readonly RedisArg[]): string {
  const first = args[0];
  const name = first instanceof Uint8Array ? new TextDecoder().decode(first) : String(first);
  return name.slice(0, 32).toUpperCase();
}
