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
}

export interface RouteMatch {
  route: string;
  cost?: number;
  public: boolean;
  injectStreamUsage: boolean;
}

/** Paths whose streams are OpenAI-style, where a stream reports usage only when asked. */
const OPENAI_STREAM_PATH = /\/(chat\/)?completions\/?$/;

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
      return { route: rule.route, cost: rule.cost, public: rule.public ?? false, injectStreamUsage };
    }
  }
  return { route: DEFAULT_ROUTE, public: false, injectStreamUsage: OPENAI_STREAM_PATH.test(path) };
}

/** Every route key the table can produce, `default` first. */
export function routeKeys(table: readonly RouteRule[]): string[] {
  return [...new Set([DEFAULT_ROUTE, ...table.filter((r) => !r.public).map((r) => r.route)])];
}
