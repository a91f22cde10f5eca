import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { RedisClient, type RedisClientOptions } from "../../src/redis/resp/client";
import { RedisClosedError, RedisProtocolError, RedisServerError, RedisTimeoutError } from "../../src/redis/resp/errors";
import { createNodeSocket, nodeSocket } from "../../src/redis/resp/node-socket";
import type { RedisReply } from "../../src/redis/resp/parser";
import type { SocketConnector } from "../../src/redis/resp/socket";

// The shared Redis: database 15 only, and only keys under this run's prefix.
const SHARED = "redis://127.0.0.1:6379/15";
const PREFIX = `resp-test:${process.pid}:${Math.random().toString(36).slice(2)}:`;
const key = (name: string) => `${PREFIX}${name}`;

const dir = mkdtempSync(join(tmpdir(), "resp-client-"));
const clients: RedisClient[] = [];
const servers: { close(): void }[] = [];

function client(options: Partial<RedisClientOptions> = {}): RedisClient {
  const c = new RedisClient({ url: SHARED, connect: nodeSocket, ...options });
  clients.push(c);
  return c;
}

// Taken before any test fakes the timers: `until` waits on real sockets, also in the tests
// that drive the client's own timers by hand.
const realSetTimeout = globalThis.setTimeout;

/** Polls `check` every 5 ms until it holds, for at most `ms` (of real time, whatever the fake clock says). */
async function until(check: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => realSetTimeout(r, 5));
  }
}

/**
 * Runs `fn` with setTimeout, clearTimeout and Date faked: the client's connect and command
 * timers (and its backoff clock, which defaults to Date.now) then move only when the test
 * advances them, while sockets stay real. A timeout can then be shown to fire at its
 * configured time and not a millisecond before, without measuring real time.
 */
async function withFakeTimers(fn: () => Promise<void>): Promise<void> {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
  try {
    await fn();
  } finally {
    vi.useRealTimers();
  }
}

/** Whether `promise` has settled once every microtask queued so far has run (no timer involved). */
async function hasSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  const mark = () => {
    settled = true;
  };
  promise.then(mark, mark);
  await new Promise((r) => setImmediate(r));
  return settled;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });

/** Our own redis-server, for what the shared one must not be used for: AUTH, TLS, being killed. */
class OwnRedis {
  #process: ChildProcess | undefined;
  constructor(
    readonly port: number,
    readonly config: string[],
  ) {}

  async start(): Promise<this> {
    const file = join(dir, `redis-${this.port}.conf`);
    const lines = [`bind 127.0.0.1`, `save ""`, "appendonly no", `dir ${dir}`, ...this.config];
    writeFileSync(file, `${lines.join("\n")}\n`);
    this.#process = spawn("redis-server", [file], { stdio: "ignore" });
    await until(() => accepts(this.port));
    return this;
  }

  async kill(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }

  close(): void {
    this.#process?.kill("SIGKILL");
  }
}

async function ownRedis(config: string[]): Promise<OwnRedis> {
  const port = await freePort();
  const redis = new OwnRedis(port, [`port ${port}`, ...config]);
  servers.push(redis);
  return redis.start();
}

/** A TCP peer that is not Redis: it accepts and then does what `onSocket` says (by default, nothing). */
async function tcpPeer(onSocket: (socket: net.Socket) => void = () => {}) {
  // `received`: every byte any client wrote, as latin1, to tell when a command is on the wire.
  const state = { connections: 0, closed: 0, received: "" };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on("error", () => {});
    // Read, or its end is never seen.
    socket.on("data", (chunk: Buffer) => {
      state.received += chunk.toString("latin1");
    });
    socket.on("close", () => {
      state.closed++;
      sockets.delete(socket);
    });
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  servers.push({
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  });
  return { port: (server.address() as net.AddressInfo).port, state };
}

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  const cleaner = new RedisClient({ url: SHARED, connect: nodeSocket });
  let cursor = "0";
  do {
    const [next, keys] = (await cleaner.send(["SCAN", cursor, "MATCH", `${PREFIX}*`, "COUNT", 1000])) as [
      string,
      string[],
    ];
    cursor = next;
    if (keys.length > 0) await cleaner.send(["DEL", ...keys]);
  } while (cursor !== "0");
  await cleaner.close();
  for (const server of servers) server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("RedisClient against the shared Redis", () => {
  it("round-trips unicode, binary-ish and byte values", async () => {
    const redis = client();
    const values = ["plain", "héllo wörld 🎉", "\u0000\r\n\t\u00ff end", "", "\uFEFFbom", "x".repeat(100_000)];
    for (const [i, value] of values.entries()) {
      expect(await redis.send(["SET", key(`v${i}`), value])).toBe("OK");
      expect(await redis.send(["GET", key(`v${i}`)])).toBe(value);
    }
    expect(await redis.send(["STRLEN", key("v1")])).toBe(new TextEncoder().encode(values[1]).length);
    await redis.send(["SET", key("bytes"), new Uint8Array([0xe2, 0x82, 0xac])]);
    expect(await redis.send(["GET", key("bytes")])).toBe("€");
    expect(await redis.send(["GET", key("missing")])).toBeNull();
    expect(redis.connected).toBe(true);
  });

  it("pipelines 1,000 commands in one write and 1,000 separate sends, replies in order", async () => {
    const redis = client();
    const counter = key("counter");
    const replies = await redis.pipeline(Array.from({ length: 1000 }, () => ["INCR", counter]));
    expect(replies).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    const sends = await Promise.all(Array.from({ length: 1000 }, (_, i) => redis.send(["ECHO", `m${i}`])));
    expect(sends).toEqual(Array.from({ length: 1000 }, (_, i) => `m${i}`));
  });

  it("speaks RESP3 after HELLO 3: maps and doubles", async () => {
    const redis = client({ protocol: 3 });
    await redis.send(["HSET", key("h"), "a", "1", "b", "2"]);
    expect(await redis.send(["HGETALL", key("h")])).toEqual(
      new Map([
        ["a", "1"],
        ["b", "2"],
      ]),
    );
    expect(await redis.send(["CONFIG", "GET", "maxmemory-policy"])).toBeInstanceOf(Map);
    await redis.send(["ZADD", key("z"), "1.5", "m"]);
    expect(await redis.send(["ZSCORE", key("z"), "m"])).toBe(1.5);
    expect(await redis.send(["GET", key("nothing")])).toBeNull();
  });

  it("gets RESP2 arrays by default", async () => {
    const redis = client();
    await redis.send(["HSET", key("h2"), "a", "1"]);
    expect(await redis.send(["HGETALL", key("h2")])).toEqual(["a", "1"]);
    expect(await redis.send(["CONFIG", "GET", "maxmemory-policy"])).toEqual(["maxmemory-policy", expect.any(String)]);
    await redis.send(["ZADD", key("z2"), "1.5", "m"]);
    expect(await redis.send(["ZSCORE", key("z2"), "m"])).toBe("1.5");
  });

  it("rejects with a typed server error; a pipeline returns it in place", async () => {
    const redis = client();
    const noscript = await redis.send(["EVALSHA", "0".repeat(40), 0]).catch((err: unknown) => err);
    expect(noscript).toBeInstanceOf(RedisServerError);
    expect((noscript as RedisServerError).code).toBe("NOSCRIPT");
    await redis.send(["HSET", key("typed"), "f", "v"]);
    await expect(redis.send(["GET", key("typed")])).rejects.toMatchObject({
      name: "RedisServerError",
      code: "WRONGTYPE",
    });
    const replies = await redis.pipeline([["PING"], ["GET", key("typed")], ["ECHO", "after"]]);
    expect(replies[0]).toBe("PONG");
    expect(replies[1]).toBeInstanceOf(RedisServerError);
    expect(replies[2]).toBe("after");
    // A nested error (EXEC) stays a value inside the array.
    const tx = await redis.pipeline([["MULTI"], ["SET", key("tx"), "a"], ["INCR", key("tx")], ["EXEC"]]);
    const exec = tx[3] as RedisReply[];
    expect(exec[0]).toBe("OK");
    expect(exec[1]).toBeInstanceOf(RedisServerError);
    expect(redis.connected).toBe(true);
  });

  it("selects the URL's database before the first command", async () => {
    const redis = client();
    const first = redis.send(["SET", key("where"), "15"]); // sent while still connecting
    expect(await first).toBe("OK");
    expect(await redis.send(["CLIENT", "INFO"])).toMatch(/ db=15 /);
    const db0 = client({ url: { host: "127.0.0.1", port: 6379 } });
    expect(await db0.send(["EXISTS", key("where")])).toBe(0);
    const db15 = client({ url: { host: "127.0.0.1", database: 15 } });
    expect(await db15.send(["EXISTS", key("where")])).toBe(1);
  });

  it("delivers RESP3 pushes to onPush, and a throwing listener harms nothing", async () => {
    const pushes: RedisReply[][] = [];
    const redis = client({
      protocol: 3,
      onPush: (message) => {
        pushes.push(message);
        throw new Error("listener bug");
      },
    });
    await redis.send(["CLIENT", "TRACKING", "on"]);
    await redis.send(["GET", key("tracked")]);
    await client().send(["SET", key("tracked"), "changed"]);
    await until(() => pushes.length > 0);
    expect(pushes[0]).toEqual(["invalidate", [key("tracked")]]);
    expect(await redis.send(["GET", key("tracked")])).toBe("changed");
  });

  it("rejects what is in flight with RedisClosedError when the connection is killed, then reconnects", async () => {
    const redis = client({ commandTimeoutMs: 5000 });
    const admin = client();
    const id = await redis.send(["CLIENT", "ID"]);
    // Caught at once: it rejects when the kill lands, maybe before the KILL's own reply does.
    const blocked = redis.send(["BLPOP", key("never"), 0]).catch((e: unknown) => e);
    await until(async () => String(await admin.send(["CLIENT", "LIST", "ID", String(id)])).includes("cmd=blpop"));
    expect(await admin.send(["CLIENT", "KILL", "ID", String(id)])).toBe(1);
    expect(await blocked).toBeInstanceOf(RedisClosedError);
    expect(redis.connected).toBe(false);
    expect(await redis.send(["PING"])).toBe("PONG");
    expect(await redis.send(["CLIENT", "ID"])).not.toBe(id);
  });

  it("close() lets commands in flight finish, then refuses new ones", async () => {
    const redis = client();
    const inflight = redis.send(["ECHO", "last"]);
    const closing = redis.close();
    expect(await inflight).toBe("last");
    await closing;
    expect(redis.connected).toBe(false);
    await expect(redis.send(["PING"])).rejects.toBeInstanceOf(RedisClosedError);
    await redis.close();
  });

  it("validates its options when built", () => {
    expect(() => new RedisClient({ url: "http://127.0.0.1", connect: nodeSocket })).toThrow(TypeError);
    expect(() => new RedisClient({ url: SHARED, connect: nodeSocket, commandTimeoutMs: 0 })).toThrow(TypeError);
    expect(() => new RedisClient({ url: SHARED, connect: nodeSocket, protocol: 4 as 3 })).toThrow(TypeError);
  });
});

describe("RedisClient authentication (own redis-server)", () => {
  let redis: OwnRedis;
  beforeAll(async () => {
    redis = await ownRedis(["requirepass default-pw", "user alice on >alice-pw ~* &* +@all"]);
  });

  it.each([2, 3] as const)(
    "authenticates with user and password, and with a password only (RESP%i)",
    async (protocol) => {
      const alice = client({ url: `redis://alice:alice-pw@127.0.0.1:${redis.port}/1`, protocol });
      expect(await alice.send(["ACL", "WHOAMI"])).toBe("alice");
      expect(await alice.send(["CLIENT", "INFO"])).toMatch(/ db=1 /);
      const byPassword = client({ url: `redis://:default-pw@127.0.0.1:${redis.port}`, protocol });
      expect(await byPassword.send(["ACL", "WHOAMI"])).toBe("default");
    },
  );

  it.each([2, 3] as const)("rejects a wrong password with RedisServerError (RESP%i)", async (protocol) => {
    const wrong = client({ url: `redis://alice:nope@127.0.0.1:${redis.port}`, protocol });
    const err = await wrong.send(["PING"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedisServerError);
    expect((err as RedisServerError).code).toBe("WRONGPASS");
    expect((err as Error).message).not.toContain("nope");
    expect(wrong.connected).toBe(false);
  });

  it("without a password, commands get NOAUTH", async () => {
    const anonymous = client({ url: `redis://127.0.0.1:${redis.port}` });
    await expect(anonymous.send(["GET", "k"])).rejects.toMatchObject({ code: "NOAUTH" });
  });
});

describe("RedisClient failures", () => {
  it("connecting to a closed port fails fast with RedisClosedError", async () => {
    const port = await freePort();
    // A connect timeout of an hour: within the test's timeout only the refusal can answer,
    // so "fast" is shown by what answered (ECONNREFUSED, not RedisTimeoutError) rather than
    // by how long it took.
    // Its backoff clock stands still, so the wait it reports is exactly the first step.
    const redis = client({ url: `redis://127.0.0.1:${port}`, connectTimeoutMs: 3_600_000, now: () => 0 });
    const err = await redis.send(["PING"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedisClosedError);
    expect((err as Error & { cause: { code?: string } }).cause.code).toBe("ECONNREFUSED");
    // The failed connect started the backoff at its first step.
    await expect(redis.send(["PING"])).rejects.toThrow("the next attempt is in 50 ms (1 failed)");
  });

  it("times out a connect whose TLS handshake never completes, at the connect timeout and not before", async () => {
    await withFakeTimers(async () => {
      const peer = await tcpPeer();
      const redis = client({ url: `rediss://127.0.0.1:${peer.port}`, connectTimeoutMs: 150 });
      const outcome = redis.send(["PING"]).catch((e: unknown) => e);
      // The TCP connect went through and the ClientHello is out; the peer will never answer it.
      await until(() => peer.state.connections === 1 && peer.state.received.length > 0);
      await vi.advanceTimersByTimeAsync(149);
      expect(await hasSettled(outcome)).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      const err = await outcome;
      expect(err).toBeInstanceOf(RedisTimeoutError);
      expect((err as Error).message).toBe(`connecting to 127.0.0.1:${peer.port} timed out after 150 ms`);
      await until(() => peer.state.closed === 1);
      // Backing off now: the next command fails at once, with the cause.
      const fast = await redis.send(["PING"]).catch((e: unknown) => e);
      expect(fast).toBeInstanceOf(RedisClosedError);
      expect((fast as Error).cause).toBe(err);
    });
  });

  it("times out a command with no reply, resets the connection, and reconnects for the next", async () => {
    await withFakeTimers(async () => {
      const peer = await tcpPeer();
      const redis = client({ url: `redis://127.0.0.1:${peer.port}`, commandTimeoutMs: 150 });
      const pings = () => peer.state.received.split("PING").length - 1;
      const results = Promise.allSettled([
        redis.send(["GET", "a"]),
        redis.send(["GET", "b"]),
        redis.pipeline([["PING"], ["PING"]]),
      ]);
      // All four commands reached the peer (one write), so the command timer runs.
      await until(() => pings() === 2);
      await vi.advanceTimersByTimeAsync(149);
      expect(await hasSettled(results)).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      // One timeout, for the oldest command, resets the connection and everything on it.
      const reasons = (await results).map((r) => (r.status === "rejected" ? r.reason : r));
      expect(reasons[0]).toBeInstanceOf(RedisTimeoutError);
      expect((reasons[0] as Error).message).toBe("no reply to GET within 150 ms; the connection was reset");
      expect(reasons).toEqual([reasons[0], reasons[0], reasons[0]]);
      await until(() => peer.state.closed === 1);
      expect(redis.connected).toBe(false);
      // The connection was ready before it was lost: the next command reconnects at once.
      const next = redis.send(["PING"]).catch((e: unknown) => e);
      await until(() => peer.state.connections === 2 && pings() === 3);
      await vi.advanceTimersByTimeAsync(150);
      expect(await next).toBeInstanceOf(RedisTimeoutError);
    });
  });

  it("closes the connection on malformed replies and rejects in-flight commands with RedisProtocolError", async () => {
    const peer = await tcpPeer((socket) => socket.once("data", () => socket.write("+OK\r\n?garbage\r\n")));
    const redis = client({ url: `redis://127.0.0.1:${peer.port}` });
    const results = await Promise.allSettled([redis.send(["SET", "a", "1"]), redis.send(["GET", "a"])]);
    expect(results[0]).toEqual({ status: "fulfilled", value: "OK" });
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(RedisProtocolError);
    await until(() => peer.state.closed === 1);
    expect(redis.connected).toBe(false);
  });

  it("fails fast while backing off after a lost server, and recovers when it returns", async () => {
    const redis = await ownRedis([]);
    let now = 1_000_000;
    let attempts = 0;
    const counting: SocketConnector = (options, handlers) => {
      attempts++;
      return nodeSocket(options, handlers);
    };
    const c = client({
      url: `redis://127.0.0.1:${redis.port}`,
      connect: counting,
      now: () => now,
      maxReconnectDelayMs: 400,
      commandTimeoutMs: 5000,
    });
    expect(await c.send(["SET", "k", "v"])).toBe("OK");
    const blocked = c.send(["BLPOP", "list", 0]).catch((e: unknown) => e);
    await redis.kill();
    expect(await blocked).toBeInstanceOf(RedisClosedError);
    expect(attempts).toBe(1);

    // The last connect succeeded, so the next command tries at once; it is refused.
    await expect(c.send(["PING"])).rejects.toBeInstanceOf(RedisClosedError);
    expect(attempts).toBe(2);
    // Then each wait doubles, from 50 ms up to the cap; inside a wait nothing is attempted.
    for (const delay of [50, 100, 200, 400, 400]) {
      await expect(c.send(["PING"])).rejects.toThrow(`next attempt is in ${delay} ms`);
      now += delay - 1;
      await expect(c.send(["PING"])).rejects.toBeInstanceOf(RedisClosedError);
      const before = attempts;
      now += 1;
      await expect(c.send(["PING"])).rejects.toBeInstanceOf(RedisClosedError);
      expect(attempts).toBe(before + 1);
    }

    await redis.start();
    now += 400;
    expect(await c.send(["PING"])).toBe("PONG");
    expect(c.connected).toBe(true);
    // A success resets the backoff.
    await redis.kill();
    await until(() => !c.connected);
    await expect(c.send(["PING"])).rejects.toBeInstanceOf(RedisClosedError);
    await expect(c.send(["PING"])).rejects.toThrow("next attempt is in 50 ms");
  });
});

describe("RedisClient over TLS (own redis-server, self-signed certificate from openssl)", () => {
  let redis: OwnRedis;
  let ca: Buffer;
  beforeAll(async () => {
    const cert = join(dir, "cert.pem");
    const keyFile = join(dir, "key.pem");
    execFileSync(
      "openssl",
      [
        ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
        ...["-keyout", keyFile, "-out", cert, "-days", "1", "-subj", "/CN=localhost"],
        ...["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
      ],
      { stdio: "ignore" },
    );
    ca = readFileSync(cert);
    const port = await freePort();
    redis = new OwnRedis(port, [
      "port 0",
      `tls-port ${port}`,
      `tls-cert-file ${cert}`,
      `tls-key-file ${keyFile}`,
      `tls-ca-cert-file ${cert}`,
      "tls-auth-clients no",
    ]);
    servers.push(redis);
    await redis.start();
  });

  it("rediss:// connects with node:tls and verifies the certificate", async () => {
    const secure = client({ url: `rediss://127.0.0.1:${redis.port}/2`, connect: createNodeSocket({ ca }) });
    expect(await secure.send(["PING"])).toBe("PONG");
    expect(await secure.send(["CLIENT", "INFO"])).toMatch(/ db=2 /);
  });

  it("an untrusted certificate is refused with RedisClosedError", async () => {
    const untrusting = client({ url: `rediss://127.0.0.1:${redis.port}` });
    const err = await untrusting.send(["PING"]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RedisClosedError);
    expect(String((err as Error).message)).toMatch(/certificate/);
  });

  it("plain redis:// to the TLS port does not get a reply", async () => {
    const plain = client({ url: `redis://127.0.0.1:${redis.port}`, commandTimeoutMs: 200 });
    const err = await plain.send(["PING"]).catch((e: unknown) => e);
    expect(err instanceof RedisClosedError || err instanceof RedisTimeoutError).toBe(true);
    expect(plain.connected).toBe(false);
  });
});
