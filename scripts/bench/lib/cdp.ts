// A minimal Chrome DevTools Protocol client over `ws`, for driving workerd's V8 inspector
// (through wrangler dev's inspector proxy) from a benchmark. Every call is bounded in time:
// a target that stops answering must fail the run, not hang it.

import WebSocket from "ws";

export interface InspectorTarget {
  id: string;
  title: string;
  description?: string;
  url?: string;
  webSocketDebuggerUrl: string;
}

/** The targets an inspector lists at /json (wrangler's proxy lists one per Worker). */
export async function listTargets(inspectorPort: number, timeoutMs = 5_000): Promise<InspectorTarget[]> {
  const res = await fetch(`http://127.0.0.1:${inspectorPort}/json`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`inspector /json answered ${res.status}`);
  return (await res.json()) as InspectorTarget[];
}

interface Pending {
  resolve(result: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export class CdpSession {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Map<string, ((params: unknown) => void)[]>();

  private constructor(
    private readonly socket: WebSocket,
    readonly target: InspectorTarget,
  ) {
    socket.on("message", (data) => this.onMessage(String(data)));
    socket.on("close", () => this.failAll(new Error(`inspector socket for ${target.title} closed`)));
  }

  static connect(target: InspectorTarget, timeoutMs = 5_000): Promise<CdpSession> {
    return new Promise((resolve, reject) => {
      // Large profiles arrive as one message; ws's default cap (100 MiB) is enough.
      const socket = new WebSocket(target.webSocketDebuggerUrl);
      const timer = setTimeout(() => {
        socket.terminate();
        reject(new Error(`inspector ${target.webSocketDebuggerUrl} did not open within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once("open", () => {
        clearTimeout(timer);
        resolve(new CdpSession(socket, target));
      });
      socket.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  /** Sends one command and waits for its answer, at most `timeoutMs`. */
  send<T = unknown>(method: string, params: object = {}, timeoutMs = 10_000): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method} got no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: (r) => resolve(r as T), reject, timer });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Calls `listener` with the params of every event named `method`. */
  on(method: string, listener: (params: unknown) => void): void {
    this.listeners.set(method, [...(this.listeners.get(method) ?? []), listener]);
  }

  close(): void {
    this.failAll(new Error("inspector session closed"));
    this.socket.close();
  }

  private onMessage(text: string): void {
    const message = JSON.parse(text) as {
      id?: number;
      result?: unknown;
      error?: { message: string };
      method?: string;
      params?: unknown;
    };
    if (message.id !== undefined) {
      const waiting = this.pending.get(message.id);
      if (!waiting) return;
      this.pending.delete(message.id);
      clearTimeout(waiting.timer);
      if (message.error) waiting.reject(new Error(`inspector: ${message.error.message}`));
      else waiting.resolve(message.result);
      return;
    }
    if (message.method) for (const listener of this.listeners.get(message.method) ?? []) listener(message.params);
  }

  private failAll(err: Error): void {
    for (const waiting of this.pending.values()) {
      clearTimeout(waiting.timer);
      waiting.reject(err);
    }
    this.pending.clear();
  }
}
