// A throwaway three-master Redis Cluster on spare loopback ports, for the cluster tests.

import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort } from "../../scripts/lib/free-port";
import { reachable, until } from "./wait";

const run = promisify(execFile);

export interface DedicatedCluster {
  ports: number[];
  seeds: string[];
  /** Moves every slot of the first master to the second (keys included), as an operator's reshard would. */
  reshardFirstToSecond(): Promise<void>;
  stop(): Promise<void>;
}

export async function startDedicatedCluster(): Promise<DedicatedCluster> {
  const dir = mkdtempSync(path.join(tmpdir(), "aegis-cluster-"));
  const ports: number[] = [];
  while (ports.length < 3) {
    const p = await freePort();
    // The cluster bus listens on port + 10000: both must be free and below 65536.
    if (p < 55_000 && !ports.includes(p) && !(await reachable(p + 10_000))) ports.push(p);
  }
  const children: ChildProcess[] = ports.map((port) =>
    spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        path.join(dir, `nodes-${port}.conf`),
        "--dir",
        dir,
        "--save",
        "",
        "--appendonly",
        "no",
        "--cluster-node-timeout",
        "2000",
      ],
      { stdio: "ignore" },
    ),
  );
  for (const c of children) c.once("error", () => {});
  for (const port of ports) await until(`cluster node ${port}`, () => reachable(port));
  const cli = (...args: string[]) => run("redis-cli", args, { timeout: 60_000 });
  await cli("--cluster", "create", ...ports.map((p) => `127.0.0.1:${p}`), "--cluster-replicas", "0", "--cluster-yes");
  for (const port of ports) {
    await until(`cluster state ok on ${port}`, async () => {
      const { stdout } = await cli("-p", String(port), "cluster", "info");
      return stdout.includes("cluster_state:ok");
    });
  }
  const nodeId = async (port: number) => (await cli("-p", String(port), "cluster", "myid")).stdout.trim();
  return {
    ports,
    seeds: [`redis://127.0.0.1:${ports[0]}`],
    async reshardFirstToSecond() {
      const [a, b] = ports as [number, number];
      await cli(
        "--cluster",
        "reshard",
        `127.0.0.1:${a}`,
        "--cluster-from",
        await nodeId(a),
        "--cluster-to",
        await nodeId(b),
        "--cluster-slots",
        "16384",
        "--cluster-yes",
      );
    },
    async stop() {
      await Promise.all(
        children.map(
          (c) =>
            new Promise((resolve) => {
              if (c.exitCode !== null) return resolve(null);
              c.once("exit", resolve);
              c.kill("SIGKILL");
            }),
        ),
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
