// The RESP client's errors: one base class, and one subclass per way a command can fail.

/** Base class of every error the RESP client produces, so callers can catch them all at once. */
export class RedisError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RedisError";
  }
}

/**
 * The server's error reply (`-ERR ...`, `-NOSCRIPT ...`, or a RESP3 bulk error). The command
 * reached Redis and was refused, so unlike the other errors its outcome is known.
 *
 * @example
 * try { await client.send(["EVALSHA", sha, "0"]); }
 * catch (err) { if (err instanceof RedisServerError && err.code === "NOSCRIPT") await client.send(["EVAL", lua, "0"]); }
 */
export class RedisServerError extends RedisError {
  /** The first word of the reply, by Redis convention its kind: "ERR", "WRONGTYPE", "NOSCRIPT", "WRONGPASS". */
  readonly code: string;

  constructor(message: string) {
    super(message);
    this.name = "RedisServerError";
    this.code = message.split(" ", 1)[0] || "ERR";
  }
}

/** No reply in time: the connect (or TLS handshake), or a command. Whether the command ran is unknown. */
export class RedisTimeoutError extends RedisError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RedisTimeoutError";
  }
}

/**
 * The connection was refused, closed or reset, or the client is closed or backing off after a
 * failed connect. A command in flight when it happened may or may not have run.
 */
export class RedisClosedError extends RedisError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RedisClosedError";
  }
}

/** The bytes on the wire are not RESP (or exceed our limits); the connection can't be trusted after it. */
export class RedisProtocolError extends RedisError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RedisProtocolError";
  }
}
