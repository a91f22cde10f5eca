// The RESP client's socket on Node, Bun and Deno: node:net, or node:tls for rediss://.

import net from "node:net";
import tls from "node:tls";
import { RedisClosedError, RedisTimeoutError } from "./errors";
import type { RedisSocket, SocketConnector } from "./socket";

/**
 * A connector over node:net / node:tls. `tlsOptions` (a private CA, a client certificate) apply
 * to rediss:// connections only.
 *
 * @example
 * const client = new RedisClient({ url: "rediss://cache:6380", connect: createNodeSocket({ ca: readFileSync("ca.pem") }) });
 */
export function createNodeSocket(tlsOptions: tls.ConnectionOptions = {}): SocketConnector {
  return (options, handlers) =>
    new Promise<RedisSocket>((resolve, reject) => {
      const { host, port } = options;
      const where = `${host}:${port}`;
      const socket = options.tls
        ? tls.connect({
            host,
            port,
            // SNI with an IP address is not allowed (RFC 6066); the certificate is then checked against the IP.
            servername: options.servername ?? (net.isIP(host) ? undefined : host),
            ...tlsOptions,
          })
        : net.connect({ host, port });
      let open = false;
      let done = false; // onClose called, or close() asked for: no more callbacks
      let lastError: unknown;

      const timer = setTimeout(() => {
        fail(new RedisTimeoutError(`connecting to ${where} timed out after ${options.connectTimeoutMs} ms`));
      }, options.connectTimeoutMs);
      const fail = (err: Error) => {
        clearTimeout(timer);
        done = true;
        socket.destroy();
        reject(err);
      };

      socket.setNoDelay(true);
      socket.once(options.tls ? "secureConnect" : "connect", () => {
        if (done) return;
        clearTimeout(timer);
        open = true;
        // Without keepalive a silently dropped peer (NAT timeout) is only noticed by a command timeout.
        socket.setKeepAlive(true, 30_000);
        resolve({
          write: (bytes) => {
            if (!done) socket.write(bytes);
          },
          close: () => {
            done = true;
            socket.destroy();
          },
        });
      });
      socket.on("data", (chunk: Uint8Array) => {
        if (!done) handlers.onData(chunk);
      });
      // Always listened to: an 'error' event with no listener would be an uncaught exception.
      socket.on("error", (err) => {
        lastError = err;
        if (!open && !done) fail(new RedisClosedError(`connecting to ${where} failed: ${err.message}`, { cause: err }));
      });
      socket.on("close", () => {
        if (!open) {
          if (!done) fail(new RedisClosedError(`connection to ${where} closed while connecting`, { cause: lastError }));
          return;
        }
        if (done) return;
        done = true;
        handlers.onClose(
          lastError === undefined
            ? undefined
            : new RedisClosedError(`connection to ${where} failed`, { cause: lastError }),
        );
      });
    });
}

/** The default Node connector. */
export const nodeSocket: SocketConnector = createNodeSocket();
