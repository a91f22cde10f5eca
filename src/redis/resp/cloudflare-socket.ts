// The RESP client's socket on Cloudflare Workers: cloudflare:sockets. Import it by path, never from Node code.

import { connect } from "cloudflare:sockets";
import { RedisClosedError, RedisTimeoutError } from "./errors";
import type { SocketConnector } from "./socket";

/**
 * A connector over `cloudflare:sockets`.
 *
 * @example
 * const client = new RedisClient({ url: env.RATE_LIMIT_REDIS_URL, connect: cloudflareSocket });
 */
export const cloudflareSocket: SocketConnector = async (options, handlers) => {
  const where = `${options.host}:${options.port}`;
  const socket = connect(
    { hostname: options.host, port: options.port },
    { secureTransport: options.tls ? "on" : "off", allowHalfOpen: false },
  );
  // Failures are reported through `opened` and the read loop; this only keeps a rejection from going unhandled.
  socket.closed.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new RedisTimeoutError(`connecting to ${where} timed out after ${options.connectTimeoutMs} ms`)),
      options.connectTimeoutMs,
    );
  });
  try {
    await Promise.race([socket.opened, timeout]);
  } catch (err) {
    socket.close().catch(() => {});
    if (err instanceof RedisTimeoutError) throw err;
    throw new RedisClosedError(`connecting to ${where} failed`, { cause: err });
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }

  let done = false;
  const finish = (err?: unknown) => {
    if (done) return;
    done = true;
    socket.close().catch(() => {});
    handlers.onClose(
      err === undefined ? undefined : new RedisClosedError(`connection to ${where} failed`, { cause: err }),
    );
  };

  const reader = socket.readable.getReader();
  const read = async () => {
    try {
      for (;;) {
        const { value, done: ended } = await reader.read();
        if (ended) return finish();
        if (!done) handlers.onData(value);
      }
    } catch (err) {
      finish(err);
    }
  };
  void read();

  // The writer takes one write at a time; chaining keeps them in call order and stops at the first failure.
  const writer = socket.writable.getWriter();
  let writes = Promise.resolve();
  return {
    write(bytes) {
      if (done) return;
      writes = writes.then(() => (done ? undefined : writer.write(bytes))).catch(finish);
    },
    close() {
      done = true;
      socket.close().catch(() => {});
    },
  };
};
