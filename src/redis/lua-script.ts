// A Lua script sent by its SHA-1, and in full only when Redis does not know it yet.

import type { RedisReply } from "./resp/index";
import { RedisServerError } from "./resp/index";

/** The slice of a Redis client the limiter and the stream consumer use. */
export interface RedisCommands {
  send(args: (string | number)[]): Promise<RedisReply>;
  pipeline(commands: (string | number)[][]): Promise<(RedisReply | RedisServerError)[]>;
}

async function sha1Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export class LuaScript {
  private shaPromise: Promise<string> | undefined;
  /** The SHA once known, so that a call does not wait on a settled promise each time. */
  private shaValue: string | undefined;

  constructor(readonly source: string) {}

  /** The SHA-1 Redis files the script under (what EVALSHA names). */
  sha(): Promise<string> {
    this.shaPromise ??= sha1Hex(this.source).then((sha) => {
      this.shaValue = sha;
      return sha;
    });
    return this.shaPromise;
  }

  /**
   * EVALSHA, falling back to EVAL when the server answers NOSCRIPT (a restart, a failover,
   * SCRIPT FLUSH). EVAL also caches the script, so the next call is an EVALSHA again.
   */
  async run(redis: RedisCommands, keys: string[], args: (string | number)[]): Promise<RedisReply> {
    const sha = this.shaValue ?? (await this.sha());
    try {
      return await redis.send(["EVALSHA", sha, keys.length, ...keys, ...args]);
    } catch (err) {
      if (!(err instanceof RedisServerError) || err.code !== "NOSCRIPT") throw err;
      return redis.send(["EVAL", this.source, keys.length, ...keys, ...args]);
    }
  }
}
