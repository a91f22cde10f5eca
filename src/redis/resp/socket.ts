// The one thing the RESP client needs from a runtime: a byte stream to a host. Adapters implement it.

export interface SocketOptions {
  host: string;
  port: number;
  tls: boolean;
  /** TLS server name (SNI and certificate check); defaults to `host` when that is a name, not an IP. */
  servername?: string;
  /** Covers the TCP connect and, with TLS, the handshake. Past it the connector rejects with RedisTimeoutError. */
  connectTimeoutMs: number;
}

export interface SocketHandlers {
  /** Bytes as they arrive. The chunk may be reused after the call returns: copy what you keep. */
  onData(chunk: Uint8Array): void;
  /** Called at most once, when an open socket ends or fails; `err` says why, if it failed. Not after close(). */
  onClose(err?: unknown): void;
}

/** An open connection. Write errors surface through `onClose`, so neither method throws or returns a promise. */
export interface RedisSocket {
  /** Queues bytes; writes go out in call order. */
  write(bytes: Uint8Array): void;
  /** Ends the connection now; idempotent. */
  close(): void;
}

/**
 * Opens a connection: resolves once it can carry bytes, rejects with RedisTimeoutError or
 * RedisClosedError (cause kept) if it can't.
 */
export type SocketConnector = (options: SocketOptions, handlers: SocketHandlers) => Promise<RedisSocket>;
