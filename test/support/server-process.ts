// The self-hosted server as a child process (Node through tsx, Bun or Deno), for tests that
// kill it or run it on another runtime.

import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";
import { ROOT } from "../../scripts/lib/wrangler-dev";
import { CLOCK_OFFSET_VAR } from "./test-clock";

export type Runtime = "node" | "bun" | "deno";

export interface ServerProcess {
  url: string;
  output(): string;
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>;
  /** SIGTERM (a graceful stop), and wait for the exit code. */
  stop(): Promise<number | null>;
}

const bin = (name: string) => path.join(ROOT, "node_modules", ".bin", name);
const ENTRY = path.join(ROOT, "src", "server", "main.ts");

/** The run's shifted clock (test-clock.ts), preloaded into the server when there is one. */
const CLOCK = path.join(ROOT, "test", "support", "clock-setup.ts");
const shifted = Number(process.env[CLOCK_OFFSET_VAR] ?? 0) !== 0;

function command(runtime: Runtime): [string, string[]] {
  if (runtime === "bun") return [bin("bun"), [...(shifted ? ["--preload", CLOCK] : []), ENTRY]];
  // Sloppy imports: the sources use extensionless relative imports, as bundlers do.
  if (runtime === "deno") {
    return [bin("deno"), ["run", "-A", "--unstable-sloppy-imports", ...(shifted ? ["--preload", CLOCK] : []), ENTRY]];
  }
  // Node loads TypeScript through tsx's loader in the one process: the tsx CLI would stand
  // between the signal and the server, and SIGKILL the server if it is slow to answer one.
  return [bin("node"), ["--import", "tsx", ...(shifted ? ["--import", CLOCK] : []), ENTRY]];
}

export async function startServerProcess(
  runtime: Runtime,
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<ServerProcess> {
  const [cmd, args] = command(runtime);
  let output = "";
  const child: ChildProcess = spawn(cmd, args, {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      HOME: process.env.HOME ?? "/tmp",
      DENO_NO_UPDATE_CHECK: "1",
      [CLOCK_OFFSET_VAR]: process.env[CLOCK_OFFSET_VAR] ?? "0",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so that a signal reaches whatever the runtime started.
    detached: true,
  });
  const signal = (sig: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, sig);
    } catch {
      // Already gone.
    }
  };
  child.stdout?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${runtime} server did not start; output:\n${output}`)), timeoutMs);
    const check = () => {
      const m = output.match(/"url":"(http:\/\/[^"]+)"/);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      } else if (child.exitCode !== null) {
        clearTimeout(timer);
        reject(new Error(`${runtime} server exited with ${child.exitCode}; output:\n${output}`));
      } else setTimeout(check, 50);
    };
    check();
  });
  return {
    url,
    output: () => output,
    async kill() {
      if (child.exitCode === null) signal("SIGKILL");
      await exited;
    },
    async stop() {
      if (child.exitCode === null) signal("SIGTERM");
      return exited;
    },
  };
}
