// AegisClient: a tenant's calls through the gateway, with its API key.

import type { ApiKeyHeader } from "../core/api-keys";
import { HTTPError } from "./errors";
import { parseRateLimit, type RateLimitInfo } from "./ratelimit-fields";
import { type CallOptions, type ClientOptions, isGatewayProblem, problemOf, Transport } from "./transport";
import type { Limits, Usage, UsageReportResult } from "./types";

export interface AegisClientOptions extends ClientOptions {
  /** The tenant's key, `ak_...`. */
  apiKey: string;
  /**
   * The header the key goes in: `authorization` (as `Bearer ak_...`, the default),
   * `x-api-key` or `api-key`. The gateway reads any of them, and forwards none.
   */
  keyHeader?: ApiKeyHeader;
}

/** A gateway response, with its RateLimit fields read. */
export type AegisResponse = Response & { rateLimit: RateLimitInfo };

export interface RecordUsageInput {
  units: number;
  route?: string;
  /** The same key is recorded once, however often it is sent. */
  idempotencyKey?: string;
  /** Or name the job: the key is derived from it (and the route), so a retried job is billed once. */
  jobId?: string;
  occurredAt?: Date | string;
  metadata?: Record<string, string | number | boolean>;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** The idempotency key of a job's usage report: the same job and route always give the same key. */
export async function jobIdempotencyKey(jobId: string, route = "default"): Promise<string> {
  return `job-${(await sha256Hex(`${jobId}\u0000${route}`)).slice(0, 48)}`;
}

function withRateLimit(response: Response): AegisResponse {
  return Object.assign(response, { rateLimit: parseRateLimit(response.headers) });
}

export class AegisClient {
  private readonly transport: Transport;

  constructor(options: AegisClientOptions) {
    if (!options.apiKey) throw new TypeError("AegisClient needs an apiKey");
    const header = options.keyHeader ?? "authorization";
    if (!["authorization", "x-api-key", "api-key"].includes(header)) {
      throw new TypeError(`AegisClient: keyHeader must be authorization, x-api-key or api-key, got ${header}`);
    }
    const value = header === "authorization" ? `Bearer ${options.apiKey}` : options.apiKey;
    this.transport = new Transport(options, { header, value });
  }

  /**
   * Calls the upstream through the gateway. Waits out the gateway's 429 and 503 as it asks,
   * within the retry budget (the upstream's own 429 and 503 only for idempotent methods). The gateway's own refusals (invalid key, quota spent after the budget,
   * limiter down) throw HTTPError; the upstream's answers, errors included, come back as they are.
   */
  async fetch(path: string, init: Omit<CallOptions, "throwHttpErrors" | "query"> = {}): Promise<AegisResponse> {
    const method = (init.method ?? "GET").toUpperCase();
    const response = await this.transport.call(path, { ...init, method, throwHttpErrors: false });
    if (!response.ok && (await isGatewayProblem(response))) {
      throw new HTTPError(response, await problemOf(response.clone()), { method, url: this.transport.url(path) });
    }
    return withRateLimit(response);
  }

  /** The tenant's limits and today's use, without spending anything. */
  limits(): Promise<Limits> {
    return this.transport.json<Limits>("/account/v1/limits");
  }

  /** Daily usage, `from` and `to` as YYYY-MM-DD (UTC; `to` exclusive). */
  usage(from?: string, to?: string): Promise<Usage> {
    return this.transport.json<Usage>("/account/v1/usage", { query: { from, to } });
  }

  /**
   * Reports a finished job's usage; the same idempotency key (or job id) is recorded once,
   * and a repeat answers `duplicate: true`.
   */
  async recordUsage(input: RecordUsageInput): Promise<UsageReportResult> {
    const { jobId, idempotencyKey, occurredAt, ...rest } = input;
    const key = idempotencyKey ?? (jobId !== undefined ? await jobIdempotencyKey(jobId, input.route) : undefined);
    if (!key)
      throw new TypeError("recordUsage needs an idempotencyKey or a jobId, so that a retry is not billed twice");
    return this.transport.json<UsageReportResult>("/account/v1/usage", {
      method: "POST",
      json: {
        ...rest,
        idempotencyKey: key,
        ...(occurredAt ? { occurredAt: occurredAt instanceof Date ? occurredAt.toISOString() : occurredAt } : {}),
      },
    });
  }
}
