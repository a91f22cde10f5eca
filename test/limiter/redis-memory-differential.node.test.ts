// The Redis store against the in-memory store on random v2 limits and random calls: both
// must give the same decisions, settlements (one at a time and in batches) and reports. The
// memory store is src/core's decisions on plain state; the Redis store's script decides on its
// own, and its store throws when src/core, rebuilding the decision from what the script found,
// disagrees.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CheckResult, SettleResult, TenantSnapshot } from "../../src/core/limiter-store";
import type { KeyLimits, RouteOverride, TenantLimits } from "../../src/core/limits";
import { memoryStore } from "../../src/core/memory-store";
import { RedisLimiterStore } from "../../src/redis/redis-limiter-store";
import { newKeyHash, newTestTenantId } from "./conformance/redis-harness";
import { redisForTests, T0 } from "./redis-node-setup";

const { redis, prefix } = redisForTests();
const TTL_SECONDS = 60;

const small = (max: number) => fc.integer({ min: 0, max });
const nullable = (max: number) => fc.option(small(max), { nil: null });
const absent = (max: number) => fc.option(small(max), { nil: undefined });

const routeArb: fc.Arbitrary<RouteOverride> = fc.record(
  {
    ratePerMinute: nullable(60),
    burst: nullable(20),
    cost: small(6),
    requestsPerMinute: nullable(30),
    requestBurst: nullable(6),
    maxConcurrent: nullable(3),
  },
  { requiredKeys: [] },
);
const keyArb: fc.Arbitrary<KeyLimits> = fc.record(
  { ratePerMinute: nullable(60), burst: nullable(20), requestsPerMinute: nullable(30), requestBurst: nullable(6) },
  { requiredKeys: [] },
);
const limitsArb = fc.record({
  ratePerMinute: nullable(120),
  burst: nullable(40),
  requestsPerMinute: absent(30),
  requestBurst: absent(8),
  maxConcurrent: absent(4),
  dailyUnits: fc.option(small(150), { nil: null }),
  shadow: fc.boolean(),
  chat: fc.option(routeArb, { nil: undefined }),
  key: fc.option(keyArb, { nil: undefined }),
});

const opArb = fc.oneof(
  fc.record({
    op: fc.constant("check" as const),
    route: fc.constantFrom("chat", "embed"),
    cost: absent(12),
    reserve: fc.boolean(),
    withKey: fc.boolean(),
  }),
  fc.record({ op: fc.constant("settle" as const), i: small(20), units: small(15) }),
  // A batch, which may name a reservation twice.
  fc.record({
    op: fc.constant("settleMany" as const),
    items: fc.array(fc.record({ i: small(20), units: small(15) }), { minLength: 1, maxLength: 6 }),
  }),
  fc.record({ op: fc.constant("tick" as const), ms: fc.oneof(small(20_000), fc.constant(TTL_SECONDS * 1000)) }),
  fc.record({ op: fc.constant("limits" as const), withKey: fc.boolean() }),
);

const comparable = (r: CheckResult) =>
  r.status === "ok" ? { ...r, reservation: r.reservation ? r.reservation.expiresAt : undefined } : r;

// An expired reservation is "expired" until a sweep records it, "unknown" after. The memory
// store sweeps on every call, settle included; the Redis script sweeps on checks and peeks
// only, so a second expired reservation settled in a row may still be "expired" there.
const gone = (r: SettleResult) => (r.status === "unknown" ? { status: "expired" } : r);

describe("Redis store against the memory store", () => {
  it("decides, settles and reports alike on random v2 limits", async () => {
    await fc.assert(
      fc.asyncProperty(limitsArb, fc.array(opArb, { minLength: 1, maxLength: 40 }), async (l, ops) => {
        const keyHash = newKeyHash();
        const limits: TenantLimits = {
          ratePerMinute: l.ratePerMinute,
          burst: l.burst,
          requestsPerMinute: l.requestsPerMinute,
          requestBurst: l.requestBurst,
          maxConcurrent: l.maxConcurrent,
          dailyUnits: l.dailyUnits,
          timeZone: "UTC",
          shadow: l.shadow,
          routes: l.chat ? { chat: l.chat } : {},
          ...(l.key ? { keys: { [keyHash]: l.key } } : {}),
        };
        const tenantId = newTestTenantId();
        const snapshot: TenantSnapshot = { tenantId, version: 1, status: "active", limits, keyHashes: [keyHash] };
        const now = { ms: T0 };
        const loadSnapshot = async () => snapshot;
        const memory = memoryStore({ now: () => now.ms, reservationTtlMs: TTL_SECONDS * 1000, loadSnapshot });
        const onRedis = new RedisLimiterStore({
          redis,
          prefix,
          clock: () => now.ms,
          reservationTtlSeconds: TTL_SECONDS,
          configRefreshSeconds: 3_600,
          loadSnapshot,
        });
        await memory.apply(snapshot);
        await onRedis.apply(snapshot);
        // Each reservation as both stores named it.
        const held: [string, string][] = [];
        for (const o of ops) {
          if (o.op === "tick") now.ms += o.ms;
          else if (o.op === "check") {
            const request = {
              route: o.route,
              cost: o.cost,
              reserve: o.reserve,
              keyHash: o.withKey ? keyHash : undefined,
            };
            const [m, r] = [await memory.check(tenantId, request), await onRedis.check(tenantId, request)];
            expect(comparable(r)).toEqual(comparable(m));
            if (m.status === "ok" && m.reservation && r.status === "ok" && r.reservation) {
              held.push([m.reservation.id, r.reservation.id]);
            }
          } else if (o.op === "settle") {
            const ids = held[o.i % Math.max(1, held.length)];
            if (!ids) continue;
            const m = await memory.settle(tenantId, ids[0], o.units);
            expect(gone(await onRedis.settle(tenantId, ids[1], o.units))).toEqual(gone(m));
          } else if (o.op === "settleMany") {
            if (held.length === 0) continue;
            const items = (side: 0 | 1) =>
              o.items.map(({ i, units }) => ({
                reservationId: held[i % held.length]?.[side] ?? "never-issued",
                units,
              }));
            const m = await memory.settleMany(tenantId, items(0));
            expect((await onRedis.settleMany(tenantId, items(1))).map(gone)).toEqual(m.map(gone));
            // And what the batch left, on the spot: each settle must count from the one before.
            const request = { routes: ["chat", "embed"], keyHash };
            expect(await onRedis.limits(tenantId, request)).toEqual(await memory.limits(tenantId, request));
          } else {
            const request = { routes: ["chat", "embed"], keyHash: o.withKey ? keyHash : undefined };
            expect(await onRedis.limits(tenantId, request)).toEqual(await memory.limits(tenantId, request));
          }
        }
      }),
      { numRuns: 150 },
    );
  }, 60_000);
});
