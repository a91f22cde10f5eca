// A dedicated redis-server on a spare loopback port, for tests that stop and start Redis.
// The shared Redis on 6379 is never touched.

import { type ChildProcess, spawn } from "node:child_process";
import { freePort } from "../../scripts/lib/free-port";
import { reachable, until } from "./wait";

export interface DedicatedRedis {
  port: number;
  url: string;
  /** Kills the server (SIGKILL: as abrupt as a crash). */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
}

/** `args` add to the command line (a later setting wins over an earlier one). */
export async function startDedicatedRedis(args: string[] = []): Promise<DedicatedRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = async () => {
    child = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", ...args],
      { stdio: "ignore" },
    );
    child.once("error", () => {});
    await until(`redis-server on ${port}`, () => reachable(port));
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}/0`,
    start,
    async stop() {
      const c = child;
      child = null;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((r) => c.once("exit", r));
      c.kill("SIGKILL");
      await exited;
      await until(`redis-server on ${port} to stop`, async () => !(await reachable(port)));
    },
  };
}
