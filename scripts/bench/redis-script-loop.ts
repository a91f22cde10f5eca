// Micro-measurement: µs of Redis's time per exact check inside the limiter script, the script's
// body run N times (default 1,000) in one script call and timed there with TIME: no network,
// no per-call cost of EVALSHA, and little of the machine's noise (min of ROUNDS, default 15).
// Each round is one tenant of 20, with bench:redis's LIMITS, route "chat", cost 1, a key.
//
//   npx tsx scripts/bench/redis-script-loop.ts    (ROUNDS, N; LUA=a.lua,b.lua as in
//                                                  redis-script-cost.ts, taking turns by round)
//
// What it leaves out, it leaves out for every script: the call's arguments, and the fresh
// values a real call reads and writes (here each pass finds the strings the one before wrote
// already interned, and the caches hot). So it ranks script texts, or the cost of a piece cut
// out of one; redis-script-cost.ts gives the figure a client sees. A script that returns
// early (a cut) is fine: the loop only times it. Keys live under a fresh prefix, removed at
// the end.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { dayOf } from "../../src/core/calendar";
import { newEventId } from "../../src/core/usage-event";
import { tenantKeys } from "../../src/redis/keys";
import { encodeLimiterCall } from "../../src/redis/limiter-call";
import { LIMITER_SCRIPT } from "../../src/redis/limiter-script";
import { RedisLimiterStore } from "../../src/redis/redis-limiter-store";
import { RedisClient } from "../../src/redis/resp/client";
import { nodeSocket } from "../../src/redis/resp/node-socket";
import { benchSnapshot, benchTenants, scanDelete } from "./lib/redis-bench";

const ROUNDS = Number(process.env.ROUNDS ?? 15);
const N = Number(process.env.N ?? 1000);
const PREFIX = `aegis-lean-${randomBytes(4).toString("hex")}`;
const files = (process.env.LUA ?? "").split(",").filter((f) => f !== "");
const texts = files.length > 0 ? files.map((f) => readFileSync(f, "utf8")) : [LIMITER_SCRIPT];
const names = files.length > 0 ? files : ["the built script"];
const redis = new RedisClient({ url: "redis://127.0.0.1:6379/0", connect: nodeSocket, commandTimeoutMs: 20000 });
const wrap = (body: string) =>
  `local function __body()\n${body}\nend\nlocal t0 = redis.call('TIME')\nlocal r\nfor __i = 1, ${N} do r = __body() end\nlocal t1 = redis.call('TIME')\nreturn {(t1[1]-t0[1])*1000000 + (t1[2]-t0[2]), r}\n`;
try {
  const tenants = (await benchTenants(20)).map((t) => ({ ...t, known: "" }));
  const store = new RedisLimiterStore({
    redis,
    prefix: PREFIX,
    reservationTtlSeconds: 900,
    configRefreshSeconds: 300,
    loadSnapshot: async () => null,
  });
  for (const t of tenants) {
    await store.apply(benchSnapshot(t));
    const [v, h] = (await redis.send(["HMGET", tenantKeys(PREFIX, t.id).tenant, "v", "h"])) as string[];
    t.known = `${v}:${h}`;
  }
  const shas = await Promise.all(texts.map(async (text) => String(await redis.send(["SCRIPT", "LOAD", wrap(text)]))));
  const once = async (sha: string, i: number) => {
    const t = tenants[i % tenants.length] as (typeof tenants)[number];
    const now = Date.now();
    const keys = tenantKeys(PREFIX, t.id);
    const { keys: k, args } = encodeLimiterCall(keys, {
      op: "check",
      now,
      today: dayOf(now, "UTC"),
      zone: "UTC",
      knownVersion: t.known,
      keyHash: t.keyHash,
      eventId: newEventId(),
      route: "chat",
      cost: 1,
      reserve: false,
      expiresAt: 0,
      dimensions: {},
    });
    const r = (await redis.send(["EVALSHA", sha, k.length, ...k, ...args])) as [number, unknown];
    await redis.send(["XTRIM", keys.stream, "MAXLEN", 0]);
    return Number(r[0]) / N;
  };
  // Warm-up: each script once, which also checks that it runs.
  for (let v = 0; v < shas.length; v++) await once(shas[v] as string, v);
  const out: number[][] = names.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (let v = 0; v < names.length; v++) {
      const vi = (v + round) % names.length;
      out[vi]?.push(await once(shas[vi] as string, round));
    }
  }
  const sorted = (a: number[]) => [...a].sort((x, y) => x - y);
  for (let v = 0; v < names.length; v++) {
    const s = sorted(out[v] ?? []);
    console.log(`min ${s[0]?.toFixed(2)} med ${s[Math.floor(s.length / 2)]?.toFixed(2)} µs per check  ${names[v]}`);
  }
} finally {
  console.log(`cleanup: ${await scanDelete(redis, `${PREFIX}*`)} keys`);
  await redis.close();
}
