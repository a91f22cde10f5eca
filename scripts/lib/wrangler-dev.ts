// Runs `wrangler dev` for a config, with variables passed through a private env file.

import { type ChildProcess, spawn } from "node:child_process";
import { chmodSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "./free-port";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url).href);

export interface WranglerDevOptions {
  /** wrangler config file; the project's wrangler.toml by default. */
  config?: string;
  /** Port to listen on; 0 picks a free one. */
  port: number;
  /** Variables for the Worker. */
  vars: Record<string, string>;
  /** Persistence directory (Durable Object storage); also holds the env file. */
  persistTo: string;
  /** wrangler's log level; "warn" drops the line it prints per request. */
  logLevel?: "info" | "warn" | "error";
  /** Receives every line wrangler prints. */
  log?: (line: string) => void;
}

export interface WranglerDev {
  url: string;
  /** The inspector proxy's port: http://127.0.0.1:PORT/json lists the Worker's isolates. */
  inspectorPort: number;
  /** wrangler's process id, also its process group's: workerd runs in that group. */
  pid: number;
  stop(): Promise<void>;
}

/**
 * Formats a dotenv line that wrangler reads back verbatim. wrangler expands `$NAME` even
 * inside single quotes (dotenv-expand) and turns `\$` back into `$`, so every `$` is
 * escaped: a password or token containing one must arrive intact.
 */
export function envLine(key: string, value: string): string {
  const escaped = value.replaceAll("$", "\\$");
  // dotenv takes a quoted value as it stands, so quote with a character the value lacks.
  const quote = ["'", '"', "`"].find((q) => !escaped.includes(q));
  if (quote === undefined || /[\r\n]/.test(escaped)) {
    throw new Error(`${key}: a value with line breaks, or with all of ' " and \`, cannot be passed to wrangler dev`);
  }
  return `${key}=${quote}${escaped}${quote}`;
}

async function waitUntilReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with code ${child.exitCode} before it was ready`);
    try {
      // Any answer at all means the Worker is serving.
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`wrangler dev did not answer on ${url} within ${timeoutMs / 1000} s`);
}

/** Stops wrangler and the workerd it started (the whole process group). */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-(child.pid as number), sig);
    } catch {
      // already gone
    }
  };
  signal("SIGTERM");
  const timer = setTimeout(() => signal("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

export async function startWranglerDev(options: WranglerDevOptions): Promise<WranglerDev> {
  const port = options.port || (await freePort());
  // Secrets go through a private file, not the command line, where `ps` would show them.
  mkdirSync(options.persistTo, { recursive: true });
  const envFile = path.join(options.persistTo, `worker-${port}.env`);
  const lines = Object.entries(options.vars).map(([k, v]) => envLine(k, v));
  writeFileSync(envFile, `${lines.join("\n")}\n`, { mode: 0o600 });
  chmodSync(envFile, 0o600);

  const wranglerPkg = createRequire(import.meta.url).resolve("wrangler/package.json");
  const wranglerBin = path.join(path.dirname(wranglerPkg), "bin", "wrangler.js");
  const inspectorPort = await freePort();
  const args = [wranglerBin, "dev", "--ip", "127.0.0.1", "--port", String(port)];
  args.push("--inspector-port", String(inspectorPort), "--persist-to", options.persistTo, "--env-file", envFile);
  args.push("--show-interactive-dev-session=false", "--log-level", options.logLevel ?? "info");
  if (options.config) args.push("--config", options.config);
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: "false", WRANGLER_SEND_METRICS: "false", FORCE_COLOR: "0" },
  });
  const log = options.log ?? (() => {});
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = "";
    stream?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      for (const line of parts) log(line);
    });
  }
  const stop = async () => {
    await stopChild(child);
    rmSync(envFile, { force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(url, child, 90_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, inspectorPort, pid: child.pid ?? 0, stop };
}
