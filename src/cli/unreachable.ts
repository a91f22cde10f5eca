// Why the gateway could not be reached, in words: fetch says only "fetch failed", and the
// system's reason (ECONNREFUSED, ENOTFOUND...) is a cause or two below it.

import { type NetworkError, TimeoutError } from "../client/index";

const REASONS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "the connection was reset",
  ENOTFOUND: "no such host (DNS lookup failed)",
  EAI_AGAIN: "DNS lookup failed, for now",
  ETIMEDOUT: "the connection timed out",
  UND_ERR_CONNECT_TIMEOUT: "the connection timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  UND_ERR_SOCKET: "the connection closed before an answer",
  CERT_HAS_EXPIRED: "its TLS certificate has expired",
  DEPTH_ZERO_SELF_SIGNED_CERT: "its TLS certificate is self-signed",
  ERR_TLS_CERT_ALTNAME_INVALID: "its TLS certificate is for another host",
};

interface Coded {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  errors?: unknown;
}

/** The first system error code under `err`: in its causes, or in an AggregateError's errors (one per address). */
function codeOf(err: unknown, depth = 0): { code: string; message: string } | undefined {
  if (typeof err !== "object" || err === null || depth > 5) return undefined;
  const e = err as Coded;
  if (typeof e.code === "string") return { code: e.code, message: typeof e.message === "string" ? e.message : "" };
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const found = codeOf(inner, depth + 1);
      if (found) return found;
    }
  }
  return codeOf(e.cause, depth + 1);
}

/** "cannot reach the gateway at URL: connection refused (ECONNREFUSED)". */
export function describeUnreachable(err: NetworkError | TimeoutError, baseUrl: string): string {
  const head = `cannot reach the gateway at ${baseUrl}`;
  if (err instanceof TimeoutError) return `${head}: no answer within ${err.timeoutMs / 1000} s (timeout)`;
  const found = codeOf(err.cause);
  if (!found) {
    const inner = err.cause instanceof Error && err.cause.cause instanceof Error ? err.cause.cause : err.cause;
    const reason = inner instanceof Error ? inner.message : String(inner);
    // fetch never connects to the ports browsers block (1, 25, 6000...), and says only this.
    if (reason === "bad port") return `${head}: fetch does not connect to this port (a blocked port)`;
    return `${head}: ${reason}`;
  }
  return `${head}: ${REASONS[found.code] ?? (found.message || "network error")} (${found.code})`;
}
