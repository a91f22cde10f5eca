// bench:redis-limits' settle batch rows (issue 18): a tenant's N settles sent one call each
// against one settleMany of N, on the same store, in the same rounds. Each run first holds
// N reservations (cost 3) on each of settles / N tenants, unmeasured, then settles them to
// 0..4 units (refunds, exact, charges: the path that moves the buckets and the day) and is
// charged Redis's CPU (INFO cpu) and ours per settle. Every settle must answer "settled"
// and leave exactly one usage event.

import type { LimiterStore, SettleItem } from "../../../src/core/limiter-store";
import type { RedisClient } from "../../../src/redis/resp/client";
import { median } from "../stats";
import type { ClosedLoopResult } from "./closed-loop";
import { drainStreams, withCpu } from "./redis-bench";

export interface SettleBatchOptions {
  redis: RedisClient;
  target: { store: LimiterStore; streams: string[] };
  tenants: { id: string; keyHash: string }[];
  /** Batch sizes (N), one pair of rows each. */
  sizes: number[];
  rounds: number;
  /** Settles per run (rounded down to a whole number of batches). */
  settles: number;
  loop: (call: (i: number) => Promise<boolean>, calls: number) => Promise<ClosedLoopResult>;
}

type Mode = "one call each" | "settleMany";
/** Per settle: the run's settles/s, µs inside scripts, Redis's CPU µs, our CPU µs. */
interface Cost {
  perSecond: number;
  scriptUs: number;
  redisUs: number;
  nodeUs: number;
}

const fmt = (n: number) => n.toFixed(1);

export async function settleBatchRows(o: SettleBatchOptions): Promise<void> {
  for (const n of o.sizes) {
    if (!Number.isSafeInteger(n) || n < 1)
      throw new Error(`a settle batch size must be a positive whole number, got ${n}`);
  }
  /** Holds n reservations on each of the first `count` tenants; their settle items by tenant. */
  const reserve = async (n: number, count: number) => {
    const groups: SettleItem[][] = Array.from({ length: count }, () => []);
    const run = await o.loop(async (i) => {
      const t = o.tenants[i % count] as { id: string; keyHash: string };
      const r = await o.target.store.check(t.id, { keyHash: t.keyHash, route: "chat", cost: 3, reserve: true });
      if (r.status !== "ok" || !r.reservation) throw new Error(`settle batches: a reserve answered ${r.status}`);
      const group = groups[i % count] as SettleItem[];
      group.push({ reservationId: r.reservation.id, units: group.length % 5 });
      return true;
    }, n * count);
    if (run.completed !== n * count) throw new Error(`settle batches: ${run.completed} of ${n * count} reserved`);
    return groups;
  };
  const settled = (results: { status: string }[]) => {
    if (results.some((r) => r.status !== "settled")) throw new Error("settle batches: a settle was not settled");
    return true;
  };
  const runOnce = async (n: number, mode: Mode, settles = o.settles): Promise<Cost> => {
    const count = Math.min(o.tenants.length, Math.max(1, Math.floor(settles / n)));
    const groups = await reserve(n, count);
    await drainStreams(o.redis, o.target.streams);
    const flat = groups.flatMap((items, g) =>
      items.map((item) => ({ tenantId: (o.tenants[g] as { id: string }).id, item })),
    );
    const calls = mode === "settleMany" ? groups.length : flat.length;
    const { result, nodeUs, redisUs, scriptUs } = await withCpu(
      o.redis,
      () =>
        o.loop(async (i) => {
          if (mode === "settleMany") {
            const store = o.target.store;
            if (!store.settleMany) throw new Error("settle batches: the store has no settleMany");
            return settled(await store.settleMany((o.tenants[i] as { id: string }).id, groups[i] as SettleItem[]));
          }
          const { tenantId, item } = flat[i] as { tenantId: string; item: SettleItem };
          return settled([await o.target.store.settle(tenantId, item.reservationId, item.units)]);
        }, calls),
      () => flat.length,
    );
    if (result.completed !== calls) throw new Error(`settle batches: ${result.completed} of ${calls} calls ran`);
    const events = await drainStreams(o.redis, o.target.streams);
    if (events !== flat.length) throw new Error(`settle batches: ${flat.length} settles but ${events} usage events`);
    // withCpu gives the script's µs per script call: a call settles n here.
    const perCall = mode === "settleMany" ? n : 1;
    return { perSecond: result.perSecond * perCall, scriptUs: scriptUs / perCall, redisUs, nodeUs };
  };

  const modes: Mode[] = ["one call each", "settleMany"];
  const samples = new Map<string, Cost[]>();
  // Warm-up, not measured: the JIT, and each path of the script.
  for (const n of o.sizes) for (const mode of modes) await runOnce(n, mode, Math.ceil(o.settles / 4));
  console.log(`\nSettle batches: ${o.rounds} rounds, about ${o.settles} settles per run; µs per settle`);
  for (let round = 1; round <= o.rounds; round++) {
    for (const n of o.sizes) {
      // Alternated, so neither mode always runs first.
      for (const mode of round % 2 ? modes : [...modes].reverse()) {
        const c = await runOnce(n, mode);
        const key = `N=${n}, ${mode}`;
        samples.set(key, [...(samples.get(key) ?? []), c]);
        console.log(
          `round ${round}  ${key.padEnd(24)} ${Math.round(c.perSecond).toLocaleString("en-US").padStart(8)} settles/s  ` +
            `script ${fmt(c.scriptUs).padStart(5)}  Redis ${fmt(c.redisUs).padStart(5)}  node ${fmt(c.nodeUs).padStart(5)}`,
        );
      }
    }
  }
  console.log(`\nMedians of ${o.rounds} rounds; µs per settle; ratio: settleMany / one call each.`);
  console.log("| N | how | settles/s | script | Redis CPU | node CPU |");
  console.log("|---:|---|---:|---:|---:|---:|");
  const med = (key: string, f: (c: Cost) => number) => median((samples.get(key) ?? []).map(f));
  for (const n of o.sizes) {
    for (const mode of modes) {
      const k = `N=${n}, ${mode}`;
      const cells = [
        Math.round(med(k, (c) => c.perSecond)).toLocaleString("en-US"),
        fmt(med(k, (c) => c.scriptUs)),
        fmt(med(k, (c) => c.redisUs)),
        fmt(med(k, (c) => c.nodeUs)),
      ];
      console.log(`| ${n} | ${mode} | ${cells.join(" | ")} |`);
    }
    const ratio = (f: (c: Cost) => number) =>
      (med(`N=${n}, settleMany`, f) / med(`N=${n}, one call each`, f)).toFixed(2);
    console.log(
      `| ${n} | ratio | ${ratio((c) => c.perSecond)} | ${ratio((c) => c.scriptUs)} | ${ratio((c) => c.redisUs)} | ${ratio((c) => c.nodeUs)} |`,
    );
  }
}
