// One HTTP call with a timeout, turned into typed errors, retried on 429 and 503 as the
// gateway asks (Retry-After, with jitter) until a total wait runs out.

import type { PROBLEM_TYPE_BASE } from "../core/problem-codes";
import { AegisError, HTTPError, NetworkError, type ProblemDetails, type RequestTarget, TimeoutError } from "./errors";

export interface RetryOptions {
  /** The most time, in ms, spent waiting between attempts; past it the last answer is the error. Default 30000. */
  maxWaitMs?: number;
  /** Statuses worth waiting for. Default [429, 503]: the gateway did nothing and says when to come back. */
  statuses?: number[];
}

export interface ClientOptions {
  /** The gateway, e.g. `https://api.example.com`. */
  baseUrl: string;
  /** Per attempt, in ms. Default 30000. */
  timeoutMs?: number;
  /** `false` turns retries off. */
  retry?: RetryOptions | false;
  /** The fetch to use (tests, proxies, a Worker's service binding). Default: globalThis.fetch. */
  fetch?: (request: Request) => Promise<Response>;
  /** How to wait between attempts. Default: setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /** 0 <= x < 1, for the jitter. Default: Math.random. */
  random?: () => number;
}

export interface CallOptions {
  method?: string;
  query?: Record<string, string | number | boolean | undefined | null>;
  json?: unknown;
  body?: BodyInit | null;
  headers?: HeadersInit;
  signal?: AbortSignal;
  /** Whether an error status throws HTTPError. Default true. */
  throwHttpErrors?: boolean | ((response: Response) => boolean);
  /**
   * Read the whole body within the timeout and the caller's signal (the SDK's JSON calls).
   * Off for proxied calls, whose body streams to the caller.
   */
  readBody?: boolean;
}

/** The gateway's own problem types; anything else in a response came from the upstream. */
// The SDK takes no runtime code from the gateway, so the URN is written here; its type is
// core's, so a literal that drifted from the gateway's would not compile.
export const GATEWAY_PROBLEM: typeof PROBLEM_TYPE_BASE = "urn:aegis-edge:problem:";
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

/** Whether an error answer is the gateway's own problem+json (not the upstream's). */
export async function isGatewayProblem(response: Response): Promise<boolean> {
  if (!(response.headers.get("content-type") ?? "").includes("problem+json")) return false;
  return (await problemOf(response.clone())).type.startsWith(GATEWAY_PROBLEM);
}

const PROBLEM = /^application\/problem\+json/i;

/** The Retry-After of a response in ms (seconds or an HTTP date), or null. */
export function retryAfterMs(response: Response, now = Date.now()): number | null {
  const value = response.headers.get("retry-after");
  if (value === null) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  // Not delta-seconds: an HTTP date, or nothing usable (a date string always has letters).
  if (!/[A-Za-z]/.test(value)) return null;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** The problem+json body of an error response, or one made up from its status. */
export async function problemOf(response: Response): Promise<ProblemDetails> {
  const text = await response.text().catch(() => "");
  const contentType = response.headers.get("content-type") ?? "";
  if (PROBLEM.test(contentType) || contentType.includes("json")) {
    try {
      const body = JSON.parse(text) as Partial<ProblemDetails>;
      if (body && typeof body === "object" && typeof body.status === "number") {
        return {
          ...body,
          type: body.type ?? "about:blank",
          title: body.title ?? response.statusText,
          status: body.status,
          detail: body.detail ?? "",
          code: body.code ?? `http-${response.status}`,
        };
      }
    } catch {
      // Not JSON after all: described from the status below.
    }
  }
  return {
    type: "about:blank",
    title: response.statusText || `HTTP ${response.status}`,
    status: response.status,
    detail: text.slice(0, 500),
    code: `http-${response.status}`,
  };
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `wait`, unless the signal aborts first. */
function abortable(wait: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return wait;
  signal.throwIfAborted();
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    wait.then(
      () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

export class Transport {
  readonly baseUrl: string;
  private readonly fetchFn: (request: Request) => Promise<Response>;

  constructor(
    private readonly options: ClientOptions,
    /** The credential header: `authorization` with `Bearer ...`, or a tenant key's own header. */
    private readonly credential: { header: string; value: string },
  ) {
    if (!/^https?:\/\//.test(options.baseUrl)) throw new TypeError("baseUrl must be an http:// or https:// URL");
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    const f = options.fetch ?? globalThis.fetch;
    this.fetchFn = (request) => f(request);
  }

  url(path: string, query?: CallOptions["query"]): string {
    const url = new URL(this.baseUrl + (path.startsWith("/") ? path : `/${path}`));
    for (const [k, v] of Object.entries(query ?? {}))
      if (v !== undefined && v !== null) url.searchParams.set(k, String(v));
    return url.toString();
  }

  /** Sends the call, retrying 429 and 503 within the retry budget; throws typed errors. */
  async call(path: string, options: CallOptions = {}): Promise<Response> {
    const method = (options.method ?? "GET").toUpperCase();
    const url = this.url(path, options.query);
    const target: RequestTarget = { method, url };
    const retry = this.options.retry === false ? null : (this.options.retry ?? {});
    const maxWaitMs = retry?.maxWaitMs ?? 30_000;
    const statuses = retry?.statuses ?? [429, 503];
    const sleep = this.options.sleep ?? defaultSleep;
    const random = this.options.random ?? Math.random;
    const body = options.json !== undefined ? JSON.stringify(options.json) : options.body;
    // A stream can be sent once; only a body that can be sent again may be retried.
    const replayable = !(body instanceof ReadableStream);
    let waited = 0;
    for (let attempt = 1; ; attempt++) {
      options.signal?.throwIfAborted();
      const response = await this.attempt(method, url, options, body ?? null, target);
      // The gateway's 429 and 503 mean nothing was done, so any call may be sent again. The
      // upstream's may follow a partial write: only idempotent methods are retried then.
      const retryable =
        retry !== null &&
        replayable &&
        statuses.includes(response.status) &&
        (IDEMPOTENT.has(method) || (await isGatewayProblem(response)));
      if (retryable) {
        const asked = retryAfterMs(response) ?? 1000 * 2 ** (attempt - 1);
        // Jitter spreads the clients a shared limit turned away, so they do not return together.
        const wait = asked + Math.floor(random() * Math.min(1000, asked / 4 + 100));
        if (waited + wait <= maxWaitMs) {
          await response.body?.cancel().catch(() => {});
          await abortable(sleep(wait), options.signal);
          waited += wait;
          continue;
        }
      }
      const throwIt =
        typeof options.throwHttpErrors === "function"
          ? options.throwHttpErrors(response)
          : (options.throwHttpErrors ?? true) && !response.ok;
      if (throwIt) throw new HTTPError(response, await problemOf(response.clone()), target);
      return response;
    }
  }

  /** Sends the call and parses JSON; 204 gives undefined. The body is read within the timeout. */
  async json<T>(path: string, options: CallOptions = {}): Promise<T> {
    const response = await this.call(path, { ...options, readBody: true });
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new AegisError(
        `the gateway answered ${response.status} with a body that is not JSON`,
        {
          method: (options.method ?? "GET").toUpperCase(),
          url: response.url || this.url(path, options.query),
        },
        { cause: err },
      );
    }
  }

  private async attempt(
    method: string,
    url: string,
    options: CallOptions,
    body: BodyInit | null,
    target: RequestTarget,
  ): Promise<Response> {
    const headers = new Headers(options.headers);
    headers.set(this.credential.header, this.credential.value);
    if (options.json !== undefined) headers.set("content-type", "application/json");
    if (!headers.has("accept")) headers.set("accept", "application/json, application/problem+json;q=0.9, */*;q=0.1");
    const timeoutMs = this.options.timeoutMs ?? 30_000;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onAbort = () => controller.abort(options.signal?.reason);
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener("abort", onAbort, { once: true });
    let streaming = false;
    try {
      const init: RequestInit & { duplex?: "half" } = { method, headers, body, signal: controller.signal };
      if (body instanceof ReadableStream) init.duplex = "half";
      const response = await this.fetchFn(new Request(url, init));
      if (!options.readBody) {
        // The body streams to the caller: their signal may still cut it; the timeout covered
        // the wait for the answer to begin.
        streaming = true;
        return response;
      }
      const text = await response.text();
      return new Response(response.status === 204 || response.status === 304 ? null : text, response);
    } catch (err) {
      if (timedOut) throw new TimeoutError(timeoutMs, target, { cause: err });
      if (options.signal?.aborted) throw err;
      throw new NetworkError(target, { cause: err });
    } finally {
      clearTimeout(timer);
      if (!streaming) options.signal?.removeEventListener("abort", onAbort);
    }
  }
}
