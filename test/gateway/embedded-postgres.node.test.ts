// Embedded PGlite under concurrent wire-protocol clients: every connection must get its own
// results, transactions must not interleave, and a dropped client must not block the rest.

import net from "node:net";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "../../scripts/lib/embedded-postgres";

const ROWS = 200;
let server: EmbeddedPostgres;
const clients: pg.Client[] = [];

/**
 * A socket that puts each of pg's protocol messages on the wire in its own event-loop turn, as
 * a relay such as the WebSocket proxy may deliver them: a batch's messages then reach the server
 * separately, and other connections' messages can land between them. Plain sockets deliver a
 * whole batch at once, which hides the interleaving.
 */
class MessageAtATime extends net.Socket {
  constructor() {
    super();
    // Without _writev, the messages pg writes while corked still reach _write one by one.
    (this as { _writev?: unknown })._writev = undefined;
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void) {
    setImmediate(() => super._write(chunk, encoding, callback));
  }
}

async function connect({ split = false } = {}): Promise<pg.Client> {
  const client = new pg.Client({
    connectionString: server.url,
    // Turns a client whose protocol state was scrambled into an error rather than a hang.
    query_timeout: 10_000,
    ...(split ? { stream: () => new MessageAtATime() } : {}),
  });
  client.on("error", () => {}); // dropped deliberately in some tests
  await client.connect();
  clients.push(client);
  return client;
}

/** A deterministic id in 1..ROWS, spread so neighbouring queries ask for different rows. */
const idFor = (c: number, k: number) => ((c * 37 + k * 53) % ROWS) + 1;

beforeAll(async () => {
  server = await startEmbeddedPostgres(null);
  const admin = await connect();
  await admin.query(`
    CREATE TABLE t (id int PRIMARY KEY, value text NOT NULL);
    CREATE TABLE u (id int PRIMARY KEY, name text NOT NULL, score int NOT NULL);
    CREATE TABLE tx (conn int NOT NULL, n int NOT NULL);
    INSERT INTO t SELECT i, 'v' || i FROM generate_series(1, ${ROWS}) AS i;
    INSERT INTO u SELECT i, 'n' || i, i * 7 FROM generate_series(1, ${ROWS}) AS i;
  `);
});

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.end()));
  await server?.close();
});

/** Runs `run` and records an error or a mismatch against `expected` in `problems`; true if neither. */
async function check(problems: string[], label: string, run: () => Promise<unknown>, expected: unknown) {
  try {
    const got = await run();
    if (JSON.stringify(got) === JSON.stringify(expected)) return true;
    problems.push(`${label}: got ${JSON.stringify(got)}, want ${JSON.stringify(expected)}`);
  } catch (err) {
    problems.push(`${label}: ${(err as Error).message}`);
  }
  return false;
}

function summary(problems: string[]) {
  return { count: problems.length, first: problems.slice(0, 8).map((p) => p.slice(0, 200)) };
}

/** Query k of connection c, with its expected rows; neighbouring connections differ in shape. */
function queryFor(c: number, k: number): { sql: string; params: unknown[]; rows: unknown[] } {
  const id = idFor(c, k);
  switch ((c + k) % 5) {
    case 0:
      return { sql: "SELECT value FROM t WHERE id = $1", params: [id], rows: [{ value: `v${id}` }] };
    case 1:
      return {
        sql: "SELECT name, score FROM u WHERE id = $1",
        params: [id],
        rows: [{ name: `n${id}`, score: id * 7 }],
      };
    case 2: {
      const other = (id % ROWS) + 1;
      return {
        sql: "SELECT id, value FROM t WHERE id IN ($1, $2) ORDER BY id",
        params: [id, other],
        rows: [id, other].sort((a, b) => a - b).map((n) => ({ id: n, value: `v${n}` })),
      };
    }
    case 3:
      return {
        sql: "SELECT id, $2::text || value AS tagged FROM t WHERE id = $1",
        params: [id, `c${c}:`],
        rows: [{ id, tagged: `c${c}:v${id}` }],
      };
    default:
      // No parameters: pg sends this as a simple Query, in among the extended batches.
      return {
        sql: "SELECT count(*)::int AS n, max(score) AS top FROM u",
        params: [],
        rows: [{ n: ROWS, top: ROWS * 7 }],
      };
  }
}

describe("embedded Postgres under concurrent connections", () => {
  it("gives every connection its own rows for concurrent extended-protocol queries of differing shapes", async () => {
    const conns = await Promise.all(Array.from({ length: 12 }, (_, c) => connect({ split: c % 2 === 0 })));
    const problems: string[] = [];
    let ran = 0;
    await Promise.all(
      conns.map(async (client, c) => {
        for (let k = 0; k < 30; k++, ran++) {
          const { sql, params, rows } = queryFor(c, k);
          const ok = await check(
            problems,
            `conn ${c} query ${k}`,
            async () => (await client.query(sql, params)).rows,
            rows,
          );
          // After a wrong answer the client's protocol state is suspect and the rest would only time out.
          if (!ok) return;
        }
      }),
    );
    expect(summary(problems)).toEqual({ count: 0, first: [] });
    expect(ran).toBe(12 * 30);
  });

  it("runs concurrent explicit transactions one at a time, with readers never inside them", async () => {
    const writers = await Promise.all([connect({ split: true }), connect()]);
    const readers = await Promise.all(Array.from({ length: 4 }, (_, r) => connect({ split: r % 2 === 0 })));
    const problems: string[] = [];
    const ITERATIONS = 15;
    const rolledBack = (i: number) => i % 3 === 2;

    const write = async (client: pg.Client, conn: number) => {
      let committed = 0;
      for (let i = 0; i < ITERATIONS; i++) {
        const label = `writer ${conn} iteration ${i}`;
        try {
          await client.query("BEGIN");
          const others = "SELECT count(*)::int AS n FROM tx WHERE conn <> $1";
          const othersBefore = (await client.query(others, [conn])).rows;
          await client.query("INSERT INTO tx (conn, n) VALUES ($1, $2)", [conn, i]);
          await check(
            problems,
            `${label} own count`,
            async () => (await client.query("SELECT count(*)::int AS n FROM tx WHERE conn = $1", [conn])).rows,
            [{ n: committed + 1 }],
          );
          if (rolledBack(i)) {
            // An error leaves the transaction aborted; it must still be this connection's alone.
            const failed = await client.query("SELECT 1 / ($1::int - $1::int)", [conn]).then(
              () => "no error",
              (err: Error) => err.message,
            );
            if (failed !== "division by zero") problems.push(`${label} failing statement: ${failed}`);
            await client.query("ROLLBACK");
          } else {
            await check(
              problems,
              `${label} others unchanged`,
              async () => (await client.query(others, [conn])).rows,
              othersBefore,
            );
            await client.query("COMMIT");
            committed++;
          }
        } catch (err) {
          // A broken session makes every later iteration time out too; one report is enough.
          problems.push(`${label}: ${(err as Error).message}`);
          return;
        }
      }
    };

    const read = async (client: pg.Client, r: number) => {
      for (let k = 0; k < 30; k++) {
        const { sql, params, rows } = queryFor(r, k);
        const ok =
          (await check(problems, `reader ${r} query ${k}`, async () => (await client.query(sql, params)).rows, rows)) &&
          // Rows of rolled-back iterations are visible only to a query run inside that transaction.
          (await check(
            problems,
            `reader ${r} uncommitted rows`,
            async () => (await client.query("SELECT count(*)::int AS n FROM tx WHERE n % 3 = $1", [2])).rows,
            [{ n: 0 }],
          ));
        if (!ok) return;
      }
    };

    await Promise.all([...writers.map((w, i) => write(w, i + 1)), ...readers.map(read)]);
    expect(summary(problems)).toEqual({ count: 0, first: [] });

    const finalCounts = await readers[0]?.query("SELECT conn, count(*)::int AS n FROM tx GROUP BY conn ORDER BY conn");
    const perWriter = Array.from({ length: ITERATIONS }, (_, i) => i).filter((i) => !rolledBack(i)).length;
    expect(finalCounts?.rows).toEqual([
      { conn: 1, n: perWriter },
      { conn: 2, n: perWriter },
    ]);
  });

  it("rolls back and lets others in when a client drops in the middle of a transaction", async () => {
    const [dropper, other] = await Promise.all([connect(), connect()]);
    await dropper.query("BEGIN");
    await dropper.query("INSERT INTO tx (conn, n) VALUES ($1, $2)", [99, 0]);
    const waiting = other.query("SELECT count(*)::int AS n FROM tx WHERE conn = $1", [99]);
    dropper.connection.stream.destroy();
    clients.splice(clients.indexOf(dropper), 1); // nothing left for afterAll to end
    expect((await waiting).rows).toEqual([{ n: 0 }]);
    expect((await other.query("SELECT value FROM t WHERE id = $1", [7])).rows).toEqual([{ value: "v7" }]);
  });

  it("lets others in when a client drops between the messages of one extended-protocol batch", async () => {
    const other = await connect();
    const raw = await rawConnect(server.address);
    // Parse and Flush, no Sync: the batch stays open, so this connection keeps the session.
    raw.send(parse("SELECT 1"), FLUSH);
    await raw.until("1");
    const waiting = other.query("SELECT value FROM t WHERE id = $1", [11]);
    raw.socket.destroy();
    expect((await waiting).rows).toEqual([{ value: "v11" }]);
  });

  it("leaves no skip-to-Sync state behind when a client drops after an error in a batch", async () => {
    const other = await connect();
    const raw = await rawConnect(server.address);
    // After an error the server ignores everything up to the next Sync, whoever sends it.
    raw.send(parse("SELEC 1"), FLUSH);
    await raw.until("E");
    const waiting = other.query("SELECT name FROM u WHERE id = $1", [12]);
    raw.socket.destroy();
    expect((await waiting).rows).toEqual([{ name: "n12" }]);
  });

  it("does not commit the half of a batch a dropped client sent before its Sync", async () => {
    const other = await connect();
    const raw = await rawConnect(server.address);
    raw.send(parse("INSERT INTO tx (conn, n) VALUES (77, 0)"), BIND, EXECUTE, FLUSH);
    await raw.until("C");
    raw.socket.destroy();
    expect((await other.query("SELECT count(*)::int AS n FROM tx WHERE conn = $1", [77])).rows).toEqual([{ n: 0 }]);
  });
});

/** A frontend message: type byte, then int32 length (counting itself), then the body. */
function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, "latin1");
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

/** Parse of the unnamed statement, no parameter types given. */
const parse = (sql: string) => message("P", Buffer.from(`\0${sql}\0\0\0`, "latin1"));
/** Bind of the unnamed portal to the unnamed statement, no parameters, text results. */
const BIND = message("B", Buffer.from([0, 0, 0, 0, 0, 0, 0, 0]));
/** Execute of the unnamed portal, all rows. */
const EXECUTE = message("E", Buffer.from([0, 0, 0, 0, 0]));
const FLUSH = message("H", Buffer.alloc(0));

/** A bare protocol-3 connection, past startup, for sending messages pg would never send alone. */
async function rawConnect(address: string) {
  const [host, port] = address.split(":");
  const socket = net.connect(Number(port), host);
  socket.on("error", () => {});
  let received = Buffer.alloc(0);
  const seen: string[] = [];
  let wake = () => {};
  socket.on("data", (chunk: Buffer) => {
    received = Buffer.concat([received, chunk]);
    while (received.length >= 5 && received.length >= 1 + received.readInt32BE(1)) {
      seen.push(String.fromCharCode(received[0] ?? 0));
      received = received.subarray(1 + received.readInt32BE(1));
    }
    wake();
  });
  const until = (type: string) =>
    new Promise<void>((resolve, reject) => {
      const look = () => {
        const at = seen.indexOf(type);
        if (at >= 0) {
          seen.splice(0, at + 1);
          resolve();
        } else if (socket.destroyed) reject(new Error(`connection closed before a '${type}' message`));
      };
      wake = look;
      socket.once("close", look);
      look();
    });
  const params = Buffer.from("user\0postgres\0database\0postgres\0\0", "latin1");
  const startup = Buffer.alloc(8);
  startup.writeInt32BE(8 + params.length, 0);
  startup.writeInt32BE(196608, 4);
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  socket.write(Buffer.concat([startup, params]));
  await until("Z");
  return { socket, until, send: (...messages: Buffer[]) => socket.write(Buffer.concat(messages)) };
}
