// Configuration from environment variables (wrangler vars and secrets, or process.env),
// validated once so that a bad setting fails loudly with the variable's name.

import { z } from "zod";
import { MIN_SIGNING_SECRET_LENGTH } from "./core/api-keys";
import { isValidTimeZone } from "./core/calendar";
import { canonicalPath } from "./core/canonical-path";
import {
  DEFAULT_LIMITER_TIMEOUT_MS,
  DEFAULT_LOAD_TIMEOUT_MS,
  DEFAULT_RESERVATION_TTL_SECONDS,
} from "./core/limiter-rules";
import { CONCURRENCY_POLICY, DAILY_POLICY, MAX_CALL_UNITS } from "./core/limits";
import { isCurrency, isPrice } from "./core/money";
import type { RouteRule } from "./core/route-table";
import { DEFAULT_SETTLE_WINDOW_MS } from "./core/settle-coalescer";
import { isWebhookSecret } from "./core/webhook-signature";

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
/** A comma-separated list, trimmed, empty items dropped. */
const commaList = z.string().transform((v) =>
  v
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean),
);
const flag = z
  .enum(["true", "false", "1", "0", ""])
  .transform((v) => v === "true" || v === "1")
  .default(false);

/** The shortest ADMIN_TOKEN accepted. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

/** The shortest METRICS_TOKEN accepted: a scraper's bearer token, not a password to remember. */
export const MIN_METRICS_TOKEN_LENGTH = 16;

/** Largest rate or burst accepted anywhere, so that bucket arithmetic stays in exact integers. */
export const MAX_RATE = 1_000_000_000;
/** Largest daily quota accepted. */
export const MAX_UNITS = 1_000_000_000_000;

const ROUTE_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Whether `route` is a valid route key: routeKeySchema's rules, without building a parse
 * result (the gateway checks every call's route; the schema says why one is refused).
 */
export const isRouteKey = (route: unknown): boolean =>
  typeof route === "string" &&
  ROUTE_KEY.test(route) &&
  route !== DAILY_POLICY &&
  route !== CONCURRENCY_POLICY &&
  route !== "key";

export const routeKeySchema = z
  .string()
  .regex(ROUTE_KEY, "a route key is 1-64 letters, digits, '.', '_' or '-'")
  .refine((r) => r !== DAILY_POLICY, `"${DAILY_POLICY}" names the daily quota and cannot be a route key`)
  .refine(
    (r) => r !== CONCURRENCY_POLICY,
    `"${CONCURRENCY_POLICY}" names the calls-in-flight cap and cannot be a route key`,
  )
  // A route "key" would name its request bucket "key/requests", which is also the name of a
  // key's own units bucket on a route "requests": policy names must never collide.
  .refine((r) => r !== "key", `"key" begins the names of keys' own policies and cannot be a route key`);

export const routeRuleSchema = z.strictObject({
  method: z
    .string()
    .regex(/^[A-Za-z]+$/)
    .optional(),
  /** Matched against the decoded request path, so an escaped rule path is stored decoded. */
  path: z
    .string()
    .regex(/^\/[^\s*]*(\/\*)?$/, "a path is '/exact/path' or '/prefix/*'")
    .transform((p, ctx) => {
      const canonical = canonicalPath(p);
      if ("decoded" in canonical) return canonical.decoded;
      ctx.addIssue({ code: "custom", message: canonical.refused });
      return z.NEVER;
    }),
  route: routeKeySchema,
  cost: int(0, MAX_CALL_UNITS).optional(),
  public: z.boolean().optional(),
  injectStreamUsage: z.boolean().optional(),
  tokens: z.boolean().optional(),
  maxTokens: int(0, MAX_CALL_UNITS).optional(),
}) satisfies z.ZodType<RouteRule>;

const envSchema = z.object({
  DATABASE_URL: z.string().min(1).optional(),
  ADMIN_TOKEN: z
    .string()
    .min(MIN_ADMIN_TOKEN_LENGTH, `ADMIN_TOKEN must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters`)
    .optional(),
  /** The bearer token GET /metrics asks for; unset, /metrics is off. */
  METRICS_TOKEN: z
    .string()
    .min(MIN_METRICS_TOKEN_LENGTH, `METRICS_TOKEN must be at least ${MIN_METRICS_TOKEN_LENGTH} characters`)
    .optional(),
  /** Self-hosted (`npm run serve`): the listening port and address. */
  PORT: int(0, 65_535).default(8787),
  HOST: z.string().min(1).default("127.0.0.1"),
  /** Self-hosted: serve GET /metrics on this port (and not on the gateway's), to a network the operator picks. */
  METRICS_PORT: int(1, 65_535).optional(),
  UPSTREAM_URL: z.url().optional(),
  DEFAULT_RATE_LIMIT_PER_MIN: int(0, MAX_RATE).default(60),
  RATE_LIMIT_BURST: int(1, MAX_RATE).optional(),
  /** Units per day; empty or "none" means no daily limit. */
  DEFAULT_DAILY_QUOTA_UNITS: z
    .string()
    .default("100000")
    .transform((v, ctx) => {
      if (v === "" || v === "none") return null;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0 || n > MAX_UNITS) {
        ctx.addIssue({ code: "custom", message: "must be a whole number of units, or 'none'" });
        return z.NEVER;
      }
      return n;
    }),
  DEFAULT_TIME_ZONE: z.string().refine(isValidTimeZone, "not an IANA time zone").default("UTC"),
  /** Fractions of the daily quota whose crossing sends quota.threshold, comma-separated; "none" for none. */
  QUOTA_ALERT_THRESHOLDS: z
    .string()
    .default("0.8,1")
    .transform((v, ctx) => {
      if (v.trim() === "" || v.trim() === "none") return [];
      const list = v.split(",").map((t) => t.trim());
      if (!list.every((t) => /^(0(\.\d{1,4})?|1(\.0{1,4})?)$/.test(t) && Number(t) > 0)) {
        ctx.addIssue({ code: "custom", message: "fractions above 0 and at most 1, with at most 4 decimals: 0.8,1" });
        return z.NEVER;
      }
      return [...new Set(list.map(Number))].sort((a, b) => a - b);
    }),
  /** JSON array of route rules: [{"method":"POST","path":"/v1/chat/*","route":"chat","cost":1}]. */
  ROUTES: z
    .string()
    .default("[]")
    .transform((v, ctx) => {
      try {
        return JSON.parse(v) as unknown;
      } catch {
        ctx.addIssue({ code: "custom", message: "must be a JSON array of route rules" });
        return z.NEVER;
      }
    })
    .pipe(z.array(routeRuleSchema)),
  /** The Redis limiter (self-hosted, or Workers over TCP): redis://[user:password@]host:port/db or rediss://. */
  RATE_LIMIT_REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/\S+$/, "a redis:// or rediss:// URL")
    .optional(),
  /** RATE_LIMIT_REDIS_URL is a Redis Cluster: one or more comma-separated seed nodes. */
  RATE_LIMIT_REDIS_CLUSTER: flag,
  /**
   * Lease reports written as compact stream entries (a few bytes a call, not about 70):
   * on only once no process older than the version that reads them consumes the streams,
   * since an older one would dead-letter them (docs/self-hosting.md, "Upgrades").
   */
  RATE_LIMIT_REDIS_COMPACT_REPORTS: flag,
  /**
   * The console's public origin (https://console.example.com). Set, the console answers on
   * that host only, and forms must come from it: keep it off the upstream's origin.
   */
  CONSOLE_ORIGIN: z.url().optional(),
  /**
   * Self-hosted: the proxies in front of the gateway whose X-Forwarded-For it believes, as
   * addresses, CIDR ranges or proxy-addr's names (loopback, linklocal, uniquelocal), comma-separated.
   */
  TRUSTED_PROXIES: commaList.optional(),
  /**
   * Secrets that sign API keys, comma-separated: the first signs new keys, and all verify,
   * so a new one can be put first while keys signed with the old one are rotated out.
   */
  KEY_SIGNING_SECRET: commaList
    .refine(
      (secrets) => secrets.length > 0 && secrets.every((s) => s.length >= MIN_SIGNING_SECRET_LENGTH),
      `one or more comma-separated secrets of at least ${MIN_SIGNING_SECRET_LENGTH} characters`,
    )
    .default([]),
  /** Keys issued before signing: accepted while they are rotated out, then refused. */
  UNSIGNED_KEYS: z.enum(["accept", "refuse"]).default("accept"),
  LIMITER_FAILURE_MODE: z.enum(["open", "closed"]).default("closed"),
  LIMITER_TIMEOUT_MS: int(1, 60_000).default(DEFAULT_LIMITER_TIMEOUT_MS),
  /** Bound on a cold limiter's first load of a tenant from Postgres (apart from the check's). */
  LIMITER_LOAD_TIMEOUT_MS: int(1, 60_000).default(DEFAULT_LOAD_TIMEOUT_MS),
  LEGACY_RATELIMIT_HEADERS: flag,
  RESERVATION_TTL_SECONDS: int(1, 86_400).default(DEFAULT_RESERVATION_TTL_SECONDS),
  /**
   * How long a tenant's first settle waits for others, so that they go to the limiter in one
   * round trip (see settle-coalescer.ts). 0: each settle is its own call.
   */
  SETTLE_WINDOW_MS: int(0, 1_000).default(DEFAULT_SETTLE_WINDOW_MS),
  /** Token routes: the output reserved for a request that names no max_tokens (a route's maxTokens wins). */
  DEFAULT_MAX_TOKENS: int(0, MAX_CALL_UNITS).default(4096),
  /** Token routes read the request body to estimate it; a larger body is refused with 413. */
  TOKEN_ROUTE_MAX_BODY_BYTES: int(1024, 64 * 1024 * 1024).default(8 * 1024 * 1024),
  /** How prompts are estimated: the model family's tokenizer where known (else bytes/4), or bytes/4 always. */
  PROMPT_TOKENIZER: z.enum(["tokenizer", "bytes"]).default("tokenizer"),
  CONFIG_REFRESH_SECONDS: int(1, 86_400).default(300),
  /** Dollars (major units of BILLING_CURRENCY) per unit, as an exact decimal string. */
  BILLING_UNIT_COST: z.string().refine(isPrice, "a decimal price such as 0.000002").default("0.000002"),
  BILLING_CURRENCY: z
    .string()
    .refine(isCurrency, "an ISO 4217 currency code such as USD")
    .transform((c) => c.toUpperCase())
    .default("USD"),
  BILLING_PERIOD: z.enum(["day", "month"]).default("month"),
  /** Hours after a period ends before it is invoiced, so late events can land. */
  BILLING_GRACE_HOURS: int(0, 24 * 14).default(2),
  /** Invoice tenants that used nothing too (an invoice of 0). */
  BILLING_ZERO_INVOICES: flag,
  BILLING_WEBHOOK_URL: z.url().optional(),
  /** One `whsec_` secret, or several separated by spaces while rotating (all sign). */
  BILLING_WEBHOOK_SECRET: z
    .string()
    .transform((v) => v.split(/\s+/).filter(Boolean))
    .refine(
      (secrets) => secrets.length > 0 && secrets.every(isWebhookSecret),
      "whsec_ secrets of at least 24 bytes, space-separated",
    )
    .optional(),
  /** Local development only: host:port/path of a WebSocket-to-TCP proxy for the Neon driver. */
  NEON_WS_PROXY: z.string().min(1).optional(),
});

/** Every environment variable the product reads. */
export const CONFIG_KEYS = Object.keys(envSchema.shape) as (keyof typeof envSchema.shape)[];

export type Config = Omit<z.output<typeof envSchema>, "RATE_LIMIT_BURST"> & { RATE_LIMIT_BURST: number };

export class ConfigError extends Error {
  override name = "ConfigError";
}

const cache = new WeakMap<object, Config>();

/** Parses and validates the environment; the result is cached per env object. */
export function loadConfig(env: object): Config {
  const hit = cache.get(env);
  if (hit) return hit;
  const source: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    const value = (env as Record<string, unknown>)[key];
    // Unset and empty mean the same thing for a string setting: use the default.
    if (typeof value === "string" ? value !== "" : value !== undefined) source[key] = value;
  }
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new ConfigError(`invalid configuration: ${issues}`);
  }
  if (parsed.data.RATE_LIMIT_REDIS_URL?.includes(",") && !parsed.data.RATE_LIMIT_REDIS_CLUSTER) {
    throw new ConfigError(
      "invalid configuration: RATE_LIMIT_REDIS_URL lists several nodes; set RATE_LIMIT_REDIS_CLUSTER=true for a Redis Cluster",
    );
  }
  if (parsed.data.UNSIGNED_KEYS === "refuse" && parsed.data.KEY_SIGNING_SECRET.length === 0) {
    throw new ConfigError(
      "invalid configuration: UNSIGNED_KEYS=refuse needs KEY_SIGNING_SECRET, or no API key could ever be accepted",
    );
  }
  if (parsed.data.BILLING_WEBHOOK_URL && !parsed.data.BILLING_WEBHOOK_SECRET) {
    throw new ConfigError(
      "invalid configuration: BILLING_WEBHOOK_URL is set but BILLING_WEBHOOK_SECRET is not; webhooks are always signed",
    );
  }
  const config = {
    ...parsed.data,
    RATE_LIMIT_BURST: parsed.data.RATE_LIMIT_BURST ?? Math.max(1, parsed.data.DEFAULT_RATE_LIMIT_PER_MIN),
  };
  cache.set(env, config);
  return config;
}
