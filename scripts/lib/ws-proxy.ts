// A WebSocket-to-TCP proxy that lets the Neon serverless driver reach a plain Postgres.
//
// The driver speaks the Postgres wire protocol inside WebSocket frames to
// `<proxy>/v1?address=host:port`. Neon runs such a proxy in production; for local
// development and tests this one pipes frames to a TCP socket. It only connects to the
// addresses it was started with, so it is never an open relay.

import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import net from "node:net";
import type { WebSocketServer as WebSocketServerType } from "ws";

// `ws` is loaded with require so that bundler conditions ("browser") cannot swap in its stub.
const { WebSocketServer } = createRequire(import.meta.url)("ws") as typeof import("ws");

/**
 * Follows the client-to-server Postgres message stream just far enough to see a Terminate
 * ('X') message. Real Postgres closes the connection on Terminate; PGlite's socket server
 * does not, and the Neon driver waits for the server to close, so without this every
 * finished connection would stay open until the server's connection limit is reached.
 */
class TerminateWatcher {
  private pending: Buffer<ArrayBufferLike> = Buffer.alloc(0);
  private started = false;

  /** Feeds client bytes; true once a Terminate message has been seen or the stream is not Postgres. */
  push(chunk: Buffer): boolean {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    for (;;) {
      if (!this.started) {
        // Startup, SSLRequest and CancelRequest carry no type byte: int32 length first.
        if (this.pending.length < 8) return false;
        const length = this.pending.readInt32BE(0);
        if (length < 8) return true; // not a startup message: end the connection
        if (this.pending.length < length) return false;
        const code = this.pending.readInt32BE(4);
        // SSLRequest (80877103) and GSSENCRequest (80877104) are followed by another untyped message.
        if (code !== 80877103 && code !== 80877104) this.started = true;
        this.pending = this.pending.subarray(length);
        continue;
      }
      if (this.pending.length < 5) return false;
      const type = this.pending[0];
      const length = this.pending.readInt32BE(1);
      if (length < 4) return true; // a length that counts less than itself: not Postgres
      if (this.pending.length < 1 + length) return false;
      if (type === 0x58) return true;
      this.pending = this.pending.subarray(1 + length);
    }
  }
}

export interface WsProxy {
  port: number;
  /** The value for NEON_WS_PROXY: host:port/v1 (no scheme). */
  address: string;
  close(): Promise<void>;
}

export async function startWsProxy(options: { allow: string[]; port?: number; host?: string }): Promise<WsProxy> {
  const host = options.host ?? "127.0.0.1";
  const allowed = new Set(options.allow);
  const wss: WebSocketServerType = new WebSocketServer({ port: options.port ?? 0, host });
  await new Promise<void>((resolve, reject) => {
    wss.once("listening", resolve);
    wss.once("error", reject);
  });
  const sockets = new Set<net.Socket>();
  wss.on("connection", (ws, req) => {
    // Browsers send Origin and the Neon driver does not: refusing it keeps web pages out.
    if (req.headers.origin !== undefined) {
      ws.close(1008, "browser connections are not allowed");
      return;
    }
    const address = new URL(req.url ?? "/", "http://proxy").searchParams.get("address") ?? "";
    const sep = address.lastIndexOf(":");
    if (!allowed.has(address) || sep < 0) {
      ws.close(1008, "address not allowed");
      return;
    }
    const socket = net.connect(Number(address.slice(sep + 1)), address.slice(0, sep));
    socket.setNoDelay(true);
    sockets.add(socket);
    const pending: Buffer[] = [];
    const watcher = new TerminateWatcher();
    let connected = false;
    socket.on("connect", () => {
      connected = true;
      for (const chunk of pending) socket.write(chunk);
      pending.length = 0;
    });
    ws.on("message", (data: Buffer) => {
      if (connected) socket.write(data);
      else pending.push(data);
      if (watcher.push(data)) socket.end();
    });
    socket.on("data", (chunk) => ws.send(chunk));
    socket.on("close", () => {
      sockets.delete(socket);
      ws.close();
    });
    socket.on("error", () => ws.close());
    ws.on("close", () => socket.destroy());
    ws.on("error", () => socket.destroy());
  });
  const port = (wss.address() as AddressInfo).port;
  return {
    port,
    address: `${host}:${port}/v1`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}
