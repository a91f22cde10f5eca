// Benchmark: the storage a deployment needs, for sizing (the self-hosting guide quotes it):
// Redis bytes per active tenant, per pending usage entry and per held reservation, and
// Postgres bytes per usage row and per daily rollup row.
//
//   npm run bench:storage
//
// Fixed counts, so two runs measure the same shapes (lib/storage-redis.ts and
// lib/storage-postgres.ts say what each phase does). Redis is the one at 127.0.0.1:6379,
// under a fresh key prefix removed at the end (SCAN + UNLINK); Postgres is TEST_POSTGRES_URL
// (default 127.0.0.1:5432, trust auth), in a scratch database created, migrated and dropped
// here. Both are cleaned up on error and on Ctrl-C too.

import { randomBytes } from "node:crypto";
import { describeError } from "../../src/core/errors";
import { openNodeDatabase } from "../../src/db/node";
import { RedisClient } from "../../src/redis/resp/client";
import { nodeSocket } from "../../src/redis/resp/node-socket";
import { createScratchDatabase, type ScratchDatabase } from "../lib/scratch-database";
import { cleanUpPrefix, redisVersionAt } from "./lib/redis-bench";
import { DAYS, EVENTS, measurePostgres, PG_TENANTS, type PostgresFigures } from "./lib/storage-postgres";
import {
  ACTIVE_TENANTS,
  CALLS_PER_STREAM_TENANT,
  HELD_TENANTS,
  measureRedis,
  type RedisFigures,
  STREAM_TENANTS,
} from "./lib/storage-redis";

const REDIS_ADDRESS = "127.0.0.1:6379";
const PREFIX = `aegis-bench-${randomBytes(4).toString("hex")}`;
/** The settings that decide how Redis encodes the keys measured, so a reader can compare. */
const ENCODING_SETTINGS = [
  "hash-max-listpack-entries",
  "hash-max-listpack-value",
  "zset-max-listpack-entries",
  "zset-max-listpack-value",
  "set-max-intset-entries",
  "stream-node-max-entries",
  "stream-node-max-bytes",
];

const interrupted = new AbortController();
process.once("SIGINT", () => {
  console.error("\ninterrupted: stopping and cleaning up (Ctrl-C again to quit at once)");
  interrupted.abort();
});

async function encodingSettings(redis: RedisClient): Promise<string> {
  try {
    const reply = await redis.send(["CONFIG", "GET", "*-max-*"]);
    const flat = Array.isArray(reply) ? reply.map(String) : [];
    const got = new Map<string, string>();
    for (let i = 0; i + 1 < flat.length; i += 2) got.set(flat[i] as string, flat[i + 1] as string);
    return ENCODING_SETTINGS.map((s) => `${s} ${got.get(s) ?? "?"}`).join(", ");
  } catch (err) {
    return `(CONFIG GET refused: ${describeError(err)})`;
  }
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const per = (bytes: number, count: number) => int(bytes / count);
const one = (n: number) => n.toLocaleString("en-US", { minimumFractionDigits: 1, maximumFractionDigits: 1 });

function redisRows(r: RedisFigures): string[] {
  const a = r.active;
  const s = r.stream;
  const tenantTotal = a.hashBytes + a.streamBytes + a.registryBytes;
  const rows = [
    `| Redis: per active tenant (all three below) | ${per(tenantTotal, a.tenants)} | ${int(a.tenants)} tenants after one admitted call each, stream drained |`,
    `|   tenant hash: config, 2 key hashes, buckets, day count | ${per(a.hashBytes, a.tenants)} | ${a.hashFields} fields, ${a.hashEncoding} |`,
    `|   usage stream, empty, with its consumer group | ${per(a.streamBytes, a.tenants)} | XTRIM MAXLEN 0 after the call |`,
    `|   share of the \`:tenants\` registry set | ${per(a.registryBytes, a.tenants)} | ${int(a.registryBytes)} B for ${int(a.tenants)} members |`,
    `| Redis: per pending usage entry (stream bytes / entries) | ${one(s.fullBytes / s.entries)} | ${int(STREAM_TENANTS)} streams x ${int(CALLS_PER_STREAM_TENANT)} entries = ${int(s.fullBytes)} B, ${s.encoding} |`,
    `|   added per entry ((full - empty) / entries) | ${one((s.fullBytes - s.emptyBytes) / s.entries)} | empty streams ${int(s.emptyBytes)} B; entry field ${one(s.payloadChars)} chars on average |`,
  ];
  for (const h of r.held) {
    rows.push(
      `| Redis: per held reservation, ${int(h.perTenant)} held per tenant (res + resx) | ${per(h.resBytes + h.resxBytes, h.reservations)} | res ${per(h.resBytes, h.reservations)} + resx ${per(h.resxBytes, h.reservations)}; ${int(HELD_TENANTS)} tenants; ${h.encodings} |`,
    );
  }
  return rows;
}

function postgresRows(p: PostgresFigures): string[] {
  const rows: string[] = [];
  const label = { usage_records: "per usage_records row", usage_daily: "per usage_daily rollup row" };
  for (const [tables, when] of [
    [p.tables, "after VACUUM ANALYZE"],
    [p.packed, "after VACUUM FULL (packed, for comparison)"],
  ] as const) {
    for (const t of tables) {
      const name = label[t.table as keyof typeof label] ?? t.table;
      const indexes = t.byIndex.map(([n, b]) => `${n} ${per(b, t.rows)}`).join(" + ");
      rows.push(
        `| Postgres: ${name}, ${when} | ${per(t.total, t.rows)} | ${int(t.rows)} rows, ${int(t.total)} B in all |`,
        `|   table (heap, TOAST, maps) | ${per(t.heap, t.rows)} | |`,
        `|   indexes | ${per(t.indexes, t.rows)} | ${indexes} |`,
      );
    }
  }
  return rows;
}

const t0 = performance.now();
const redis = new RedisClient({ url: `redis://${REDIS_ADDRESS}/0`, connect: nodeSocket, commandTimeoutMs: 10_000 });
let reachable = false;
let scratch: ScratchDatabase | undefined;
let db: ReturnType<typeof openNodeDatabase> | undefined;

try {
  const redisVersion = await redisVersionAt(redis, REDIS_ADDRESS);
  reachable = true;
  const settings = await encodingSettings(redis);
  console.log(`measuring Redis ${redisVersion} at ${REDIS_ADDRESS} under ${PREFIX} ...`);
  const r = await measureRedis(redis, PREFIX, interrupted.signal);

  scratch = await createScratchDatabase("aegis_bench_storage");
  db = openNodeDatabase(scratch.url, 2);
  console.log(`ingesting ${int(EVENTS)} usage events into ${new URL(scratch.url).pathname.slice(1)} ...`);
  const p = await measurePostgres(db.db, db.pool, interrupted.signal);

  console.log("\ncommand: npm run bench:storage  (tsx scripts/bench/storage.ts)");
  console.log(`node ${process.version}; Redis ${redisVersion} (${settings}); PostgreSQL ${p.version}`);
  console.log(
    `Redis: ${int(ACTIVE_TENANTS)} active tenants (units and request buckets, daily quota, route "chat" with its own buckets, 2 API keys; one non-reserved check each); ${int(STREAM_TENANTS)} tenants x ${int(CALLS_PER_STREAM_TENANT)} metered chat calls (reserve, then settle with model, input/output/cached tokens and request id); ${int(HELD_TENANTS)} tenants per held-reservation row. Bytes: MEMORY USAGE <key> SAMPLES 0, summed.`,
  );
  console.log(
    `Postgres: N = ${int(EVENTS)} usage events (${int(PG_TENANTS)} tenants, ${DAYS} days, 2 routes, 4 models, token dimensions, metadata {model, requestId}) through ingestUsage in batches of 1,000. Bytes: pg_total_relation_size, pg_table_size, pg_indexes_size.`,
  );
  console.log("\n| figure | bytes | conditions |");
  console.log("|---|---:|---|");
  for (const row of [...redisRows(r), ...postgresRows(p)]) console.log(row);
  console.log(`\ntotal ${((performance.now() - t0) / 1000).toFixed(0)} s`);
} catch (err) {
  console.error(`bench:storage failed: ${err instanceof Error ? err.message : describeError(err)}`);
  process.exitCode = 1;
} finally {
  if (reachable) {
    await cleanUpPrefix(redis, PREFIX);
  }
  await db?.close();
  await scratch?.drop().catch((err: unknown) => {
    console.error(`dropping the scratch database failed: ${describeError(err)}`);
    process.exitCode = 1;
  });
  await redis.close();
}
