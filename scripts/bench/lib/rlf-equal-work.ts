// bench:redis's equal-work contender (issue 18): rate-limiter-flexible made to do what our
// check does in its one script call, so the two are compared like for like. Per call:
//   - a RateLimiterUnion of three RateLimiterRedis limiters on the tenant's id: requests per
//     minute, units per minute and units per UTC day (three INCRBY/PTTL script calls, sent
//     together, one answer each);
//   - once the union admits the call, an XADD of the usage event to the tenant's stream,
//     with the payload our script writes (one field `e`, see limiter-script-base.ts emit()).
// That is two round trips per call where ours makes one; the design is rlf's, not ours.
//
// RateLimiterUnion (rate-limiter-flexible 11.4, lib/RateLimiterUnion.js), read from its source:
//   - consume(key, points) consumes the same `points` from every limiter, all at once; there
//     is no per-limiter amount. So the request limiter can only count 1 per call when the
//     cost is 1, which is the bench's cost; with another cost it would need its own call.
//   - It waits for all of them and rejects if any rejected, with an object keyed by each
//     rejecting limiter's keyPrefix (hence three prefixes). It refunds nothing: the points the
//     other limiters took stay taken. Our check admits or refuses as a whole.
//   - A Redis error is caught the same way as a refusal and lands in that object as an Error,
//     so a refusal is told from a failure here by the value's class.
// The bench's limits are far above what it reaches, so every call is admitted and does the
// whole of this work; a refusal fails the run, as for the other contenders.

import type { Redis } from "ioredis";
import { RateLimiterRedis, RateLimiterRes, RateLimiterUnion } from "rate-limiter-flexible";
import { describeError } from "../../../src/core/errors";
import { newEventId } from "../../../src/core/usage-event";
import { tenantKeys } from "../../../src/redis/keys";

export interface EqualWorkLimits {
  requestsPerMinute: number;
  unitsPerMinute: number;
  dailyUnits: number;
}

/**
 * Seconds from `nowMs` to the next UTC midnight (at least 1): the daily limiter's window. It
 * is fixed when the limiter is built, which is right for a run that does not cross midnight;
 * each key's window starts at its first consume, as rlf's windows do.
 */
export function secondsToUtcMidnight(nowMs: number): number {
  const day = 86_400_000;
  return Math.max(1, Math.ceil((day - (nowMs % day)) / 1000));
}

/** False (not admitted) when a union's rejection is a refusal by its limiters; rethrows a failure. */
function refused(rejection: unknown): false {
  if (rejection instanceof Error) throw rejection;
  const values = rejection && typeof rejection === "object" ? Object.values(rejection) : [];
  const failure = values.find((v) => !(v instanceof RateLimiterRes));
  if (values.length > 0 && failure === undefined) return false;
  throw failure instanceof Error ? failure : new Error(`rlf union rejected with ${describeError(rejection)}`);
}

export interface EqualWork {
  /** Checks one call; resolves true when admitted (and its usage event appended). */
  consume(tenantId: string, route: string, cost: number): Promise<boolean>;
  /** The tenant's usage stream: our key layout under this contender's prefix. */
  streamOf(tenantId: string): string;
}

/** The contender on one ioredis client; every key lives under `prefix`. */
export function rlfEqualWork(client: Redis, prefix: string, limits: EqualWorkLimits): EqualWork {
  const limiter = (name: string, points: number, duration: number) =>
    new RateLimiterRedis({
      storeClient: client,
      useRedisPackage: false,
      keyPrefix: `${prefix}:${name}`,
      points,
      duration,
    });
  const union = new RateLimiterUnion(
    limiter("requests", limits.requestsPerMinute, 60),
    limiter("units", limits.unitsPerMinute, 60),
    limiter("daily", limits.dailyUnits, secondsToUtcMidnight(Date.now())),
  );
  const streamOf = (tenantId: string) => tenantKeys(prefix, tenantId).stream;
  return {
    streamOf,
    async consume(tenantId, route, cost) {
      try {
        await union.consume(tenantId, cost);
      } catch (rejection) {
        return refused(rejection);
      }
      // Our event for a check with no model or metadata: id, route, units, time, then three
      // empty parts (metadata, settle metadata, dimensions). No MAXLEN: ours caps nothing
      // either; the bench empties the streams after each run.
      const event = `${newEventId()}\t${route}\t${cost}\t${Date.now()}\t\t\t`;
      await client.xadd(streamOf(tenantId), "*", "e", event);
      return true;
    },
  };
}
