// The Redis limiter's Lua script: every decision of one tenant, run atomically by Redis.
//
// It moves the same integer state as src/core (token buckets in ticks: a route's units and
// requests, a key's own units and requests; the daily counter; the calls in flight;
// reservations) and writes the usage event to the tenant's stream in the same script, so a
// counter change and its event commit together. It returns the state it found; the caller
// rebuilds the reported Decision from it with src/core's decide(), so the figures a client
// sees are computed by one implementation on every backend.
//
// Lua in Redis has doubles only. Every quantity is an integer below 2^53 (a bucket holds at
// most 10^9 tokens x 60,000 ticks), so the arithmetic is exact; numbers are written back
// with %d, which casts to a 64-bit long (the load op checks that it is one), because
// tostring() keeps only 14 significant digits.
//
// KEYS (all carry the {tenantId} hash tag, so the script runs on Redis Cluster):
//   1 tenant  hash, everything a decision reads, so that a check is one HMGET:
//             config: v, s (active|suspended|missing), rate, burst (the units bucket),
//             rrate, rburst (the request bucket), conc (calls in flight): each "" for none,
//             and a bucket given one of its two numbers uses it for both (src/core/limits.ts);
//             daily (-1: none), tz, shadow (0|1), at (loaded at), ttl (ms the config stays
//             good after `at`; with an override, it ends just before the override does, and
//             the fields hold the limits in force: src/redis/tenant-config.ts), json
//             (TenantLimits for the caller), h (SHA-1 of json), al (quota alert thresholds in
//             basis points, ascending, comma-separated), ou (when the override the limits
//             include ends, ms; absent without one: the config is never used past it),
//             cfg: what a check reads of the above but at, packed by load (cmsgpack: a check
//             reads one field instead of twelve, and no number from text): "v:h", s, tz, ttl,
//             rate, burst, rrate, rburst, daily, shadow (a boolean), al, conc (numbers as
//             numbers, a "" number as nil), and the `at` and `h` it was written with. It is
//             read only while `at` and `h` still hold them, else the fields are: a config
//             written before cfg was, or rewritten by a load of such a script (which sets
//             `at` and `h` and leaves cfg; `h` tells one within the same ms), is read as
//             before (a load that only refreshes the time rewrites cfg too);
//             r:<route> = "rate,burst,cost,rrate,rburst,conc" (an empty part: the tenant's
//             number, or for cost the route table's, or for conc none; configs written before
//             v2 have the first three parts);
//             keys: k:<SHA-256 hex of a live key> = "rate,burst,rrate,rburst" (its own limits)
//             or "1" (none);
//             counters: b:<state key> = "ticks:at" per bucket (state keys as src/core names
//             them: <route>, <route>/requests, key/<hash>/<route>, key/<hash>/<route>/requests),
//             d.day, d.used, d.al (the highest alert threshold fired on d.day), n and n:<route> (reservations holding a slot, the tenant's and
//             the route's), x (the earliest reservation expiry, so a call sweeps only when due),
//             nc:<route> (when a cap's refusal last recounted the calls in flight from res)
//   2 res     hash: reservation id -> route \t units \t ticks \t day \t reservedAt \t expiresAt \t metadata
//             \t dimensions (of its estimate) \t key hash ("" for none) \t ticks taken from the
//             key's units bucket. Entries held from before the dimensions have 7 parts, from
//             before key limits 8; such an entry holds no calls-in-flight slot. A token lease
//             is held here too, in 8 parts whose third is "L:<calls>:<seq>:<key hash>"
//             (limiter-script-lease.ts), so that the sweep records it once its hold runs out.
//   3 resx    sorted set: reservation id by expiry
//   4 stream  the tenant's usage outbox (field e: an event; field a: a quota alert,
//             day \t threshold bp \t used \t limit \t at) (one field e, see emit()); a
//             lease's report: fields r and E, or r, L, t and C (compact), one line per call
//             (limiter-script-lease.ts; read back by usage-stream-entry.ts)
//   5 idem    the idempotency key of a reported usage (record only; else any tenant key)
//
// ARGV: 1 op (check, checkstale, settle, lease, report, record, peek, load, forget, sweep), 2 now, 3 today (YYYY-MM-DD in ARGV[4]'s zone), 4 tz, 5 the "version:hash" the
// caller already knows, 6 the key hash ("" when the caller identified the tenant), 7.. op's
// (settle: one reservation or a batch, four arguments each; lease and report: see
// limiter-script-lease.ts).
// limiter-call.ts is the one place that builds KEYS and ARGV; keep the two in step.

import { LUA_BASE } from "./limiter-script-base";
import { LUA_DECISIONS } from "./limiter-script-decisions";
import { LUA_HOUSEKEEPING } from "./limiter-script-housekeeping";
import { LUA_LEASE } from "./limiter-script-lease";
import { LUA_SETTLE } from "./limiter-script-settle";
import { LUA_TENANT } from "./limiter-script-tenant";
import { LuaScript } from "./lua-script";

/** The whole script. Its pieces run in this order; each op returns from the piece that holds it. */
export const LIMITER_SCRIPT = LUA_BASE + LUA_HOUSEKEEPING + LUA_TENANT + LUA_SETTLE + LUA_LEASE + LUA_DECISIONS;

/** The script as Redis runs it: by SHA-1, sent in full after NOSCRIPT. */
export const limiterScript = new LuaScript(LIMITER_SCRIPT);
