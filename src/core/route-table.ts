// The route table: which route key (and so which bucket and cost) a proxied call belongs to.

import { DEFAULT_ROUTE } from "./limits";

export interface RouteRule {
  /** HTTP method to match, or any method when absent. */
  method?: string;
  /** An exact path, or a prefix ending in `/*` (which also matches the bare prefix). */
  path: string;
  /** The route key: names the bucket and the per-route overrides. */
  route: string;
  /** Units one call costs before it is settled; the tenant's override wins. */
  cost?: number;
  /** Forward without authentication or limits (health checks, public docs). */
  public?: boolean;
  /**
   * Ask a stream that did not ask for its usage to report it, and strip it from what the
   * client gets (see stream-usage-option.ts). Default: on for OpenAI-style paths, those
   * ending in `/chat/completions` or `/completions`.
   */
  injectStreamUsage?: boolean;
  /**
   * A token route: a call with a body reserves its prompt estimate plus the most output it
   * allows, is refused before the upstream when that does not fit, and settles to the input
   * + output tokens used (prompt-estimate.ts). Off by default: a token route's quota must be
   * sized in tokens, and the default quotas (60 a minute) are sized in calls.
   */
  tokens?: boolean;
  /**
   * The output a token route reserves for a request that names no `max_tokens`
   * (`max_completion_tokens`, `max_output_tokens`). Default: 0 on `/embeddings` paths,
   * which produce no output tokens, else the gateway's DEFAULT_MAX_TOKENS.
   */
  maxTokens?: number;
}

export interface RouteMatch {
  route: string;
  cost?: number;
  public: boolean;
  injectStreamUsage: boolean;
  /** Whether the call is metered in tokens, reserving by its request (see RouteRule.tokens). */
  tokens: boolean;
  /** The output reserved when the request names none; absent for the gateway's default. */
  maxTokens?: number;
}

/** Paths whose streams are OpenAI-style, where a stream reports usage only when asked. */
const OPENAI_STREAM_PATH = /\/(chat\/)?completions\/?$/;
const EMBEDDINGS_PATH = /\/embeddings\/?$/;

/** The token-route fields of a match: what its rule says; only a call that has a body is estimated. */
function tokenFields(
  rule: RouteRule | undefined,
  method: string,
  path: string,
): Pick<RouteMatch, "tokens" | "maxTokens"> {
  const verb = method.toUpperCase();
  const tokens = (rule?.tokens ?? false) && verb !== "GET" && verb !== "HEAD";
  const maxTokens = rule?.maxTokens ?? (EMBEDDINGS_PATH.test(path) ? 0 : undefined);
  return maxTokens === undefined ? { tokens } : { tokens, maxTokens };
}

function pathMatches(pattern: string, path: string): boolean {
  // A trailing slash does not make another resource for matching: "/v1/x/" is "/v1/x".
  const bare = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
  if (!pattern.endsWith("/*")) return pattern === bare;
  const prefix = pattern.slice(0, -2);
  return bare === prefix || bare.startsWith(`${prefix}/`);
}

/**
 * The first rule that matches the call, else the `default` route. `path` is the decoded
 * path of `canonicalPath()`; rule paths are compared as written, case-sensitively.
 */
export function matchRoute(table: readonly RouteRule[], method: string, path: string): RouteMatch {
  for (const rule of table) {
    if (rule.method && rule.method.toUpperCase() !== method.toUpperCase()) continue;
    if (pathMatches(rule.path, path)) {
      const injectStreamUsage = rule.injectStreamUsage ?? OPENAI_STREAM_PATH.test(path);
      const base = { route: rule.route, cost: rule.cost, public: rule.public ?? false, injectStreamUsage };
      return { ...base, ...tokenFields(rule, method, path) };
    }
  }
  const injectStreamUsage = OPENAI_STREAM_PATH.test(path);
  return { route: DEFAULT_ROUTE, public: false, injectStreamUsage, ...tokenFields(undefined, method, path) };
}

/** Every route key the table can produce, `default` first. */
export function routeKeys(table: readonly RouteRule[]): string[] {
  return [...new Set([DEFAULT_ROUTE, ...table.filter((r) => !r.public).map((r) => r.route)])];
}
