// RFC 9457 problem+json errors: one shape for every error the gateway returns.

import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { describeError } from "../core/errors";
import { type Logger, log } from "../core/log";
import { PROBLEM_TYPE_BASE, type ProblemCode } from "../core/problem-codes";

export { PROBLEM_TYPE_BASE } from "../core/problem-codes";
export const PROBLEM_CONTENT_TYPE = "application/problem+json";

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  [extension: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: "Bad request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not found",
  409: "Conflict",
  413: "Content too large",
  415: "Unsupported media type",
  429: "Quota exceeded",
  500: "Internal error",
  502: "Bad gateway",
  503: "Service unavailable",
  504: "Gateway timeout",
};

/** An error that becomes a problem+json response wherever it is thrown. */
export class Problem extends Error {
  override name = "Problem";
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ProblemCode,
    readonly detail: string,
    readonly extensions: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }

  body(): ProblemBody {
    return {
      type: PROBLEM_TYPE_BASE + this.code,
      title: TITLES[this.status] ?? "Error",
      status: this.status,
      detail: this.detail,
      code: this.code,
      ...this.extensions,
    };
  }

  response(extraHeaders: Record<string, string> = {}): Response {
    return new Response(JSON.stringify(this.body()), {
      status: this.status,
      headers: { "content-type": PROBLEM_CONTENT_TYPE, ...this.headers, ...extraHeaders },
    });
  }
}

const HTTP_CODES: Record<number, ProblemCode> = {
  400: "invalid-request",
  401: "unauthorized",
  404: "not-found",
  413: "body-too-large",
  415: "unsupported-media-type",
};

/** Better words than the framework's for errors it raises before our handlers run. */
const HTTP_DETAILS: Record<number, string> = {
  415: "send the body as JSON, with 'Content-Type: application/json'",
};

/** The SQLSTATE of a Postgres error, wherever a driver or drizzle has wrapped it. */
function sqlState(err: unknown): string | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
  }
  return undefined;
}

/** The call's logger when the gateway's first middleware set it, else the process's. */
const logOf = (c: Context): Logger => (c.get("log") as Logger | undefined) ?? log;

/**
 * The problem an error is answered with, and what to log of it: nothing for a Problem or a
 * framework error, which are the request's; the error for an outage or a bug.
 */
function problemOf(err: unknown): { problem: Problem; logged?: "database unavailable" | "unhandled error" } {
  if (err instanceof Problem) return { problem: err };
  // A value the validation let through but Postgres refused is still the request's fault.
  const state = sqlState(err);
  // A query that failed without an answer from Postgres (or with a connection-class one)
  // means the database is out of reach: retryable, not a bug.
  const unreachable =
    err instanceof Error &&
    err.message.startsWith("Failed query:") &&
    (state === undefined || /^(08|53|57)/.test(state));
  if (unreachable) {
    const problem = new Problem(
      503,
      "database-unavailable",
      "the database could not be reached; retry shortly",
      {},
      { "Retry-After": "5" },
    );
    return { problem, logged: "database unavailable" };
  }
  if (state?.startsWith("22")) {
    return {
      problem: new Problem(400, "invalid-request", `a value in the request cannot be stored (SQLSTATE ${state})`),
    };
  }
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode;
    const code = HTTP_CODES[status] ?? (status >= 500 ? "internal" : "invalid-request");
    const detail = HTTP_DETAILS[status] ?? (err.message || TITLES[status] || "request failed");
    return { problem: new Problem(status, code, detail) };
  }
  const problem = new Problem(500, "internal", "the gateway failed to handle this request; it has been logged");
  return { problem, logged: "unhandled error" };
}

/** Turns anything thrown by a handler into a problem response; unknown errors become a logged 500. */
export function problemFromError(err: unknown, c: Context): Response {
  const { problem, logged } = problemOf(err);
  if (logged === "database unavailable") {
    logOf(c).error(logged, { path: c.req.path, error: describeError(err) });
  } else if (logged) {
    logOf(c).error(logged, { method: c.req.method, path: c.req.path, error: describeError(err) });
  }
  return problem.response();
}

/** The status the client is answered with for an error, as problemFromError answers it. */
export const statusOfError = (err: unknown): number => problemOf(err).problem.status;

export function notFound(c: Context): Response {
  return new Problem(404, "not-found", `no route for ${c.req.method} ${c.req.path}`).response();
}
