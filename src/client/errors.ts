// The SDK's errors, after ky's pattern: one base class, and a subclass per way a call fails.
// Each names the method and URL it was about and keeps what caused it.

import type { ProblemCode } from "../core/problem-codes";

/** RFC 9457 problem details, as every gateway error answers. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  /**
   * The problem type's short name, e.g. "quota-exceeded": one of the gateway's codes, or
   * whatever an upstream's own problem says.
   */
  code: ProblemCode | (string & {});
  [extension: string]: unknown;
}

export interface RequestTarget {
  method: string;
  url: string;
}

export class AegisError extends Error {
  override name = "AegisError";
  readonly method: string;
  readonly url: string;

  constructor(message: string, target: RequestTarget, options?: { cause?: unknown }) {
    super(`${message} (${target.method} ${target.url})`, options);
    this.method = target.method;
    this.url = target.url;
  }
}

/** The gateway answered with an error status; `problem` holds its problem+json body. */
export class HTTPError extends AegisError {
  override name = "HTTPError";
  readonly status: number;
  readonly problem: ProblemDetails;
  readonly response: Response;

  constructor(response: Response, problem: ProblemDetails, target: RequestTarget) {
    super(`${response.status} ${problem.code}: ${problem.detail}`, target);
    this.status = response.status;
    this.problem = problem;
    this.response = response;
  }
}

/** The call did not finish within its timeout. */
export class TimeoutError extends AegisError {
  override name = "TimeoutError";
  readonly timeoutMs: number;

  constructor(timeoutMs: number, target: RequestTarget, options?: { cause?: unknown }) {
    super(`no answer within ${timeoutMs} ms`, target, options);
    this.timeoutMs = timeoutMs;
  }
}

/** The gateway could not be reached (DNS, refused connection, reset). */
export class NetworkError extends AegisError {
  override name = "NetworkError";

  constructor(target: RequestTarget, options: { cause: unknown }) {
    const reason = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(`the gateway could not be reached: ${reason}`, target, options);
  }
}
