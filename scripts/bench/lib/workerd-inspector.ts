// Finds the V8 inspector of the workerd that wrangler dev runs the Worker in. wrangler's
// own inspector proxy shows only the user Worker's isolate; workerd's lists every isolate
// of the process (miniflare's entry, outbound and storage workers too), so a profile can
// show what the local plumbing costs. workerd is started with --inspector-addr=127.0.0.1:0
// and tells wrangler the port over a pipe, so the port is found from its listening sockets.

import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import type { InspectorTarget } from "./cdp";

function read(file: string): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return null;
  }
}

/** Ports that process `pid` listens on (IPv4), from its socket inodes and /proc/net/tcp. */
function listeningPorts(pid: string): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1]) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  const ports: number[] = [];
  for (const line of (read("/proc/net/tcp") ?? "").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    // f[3] is the state (0A: listening), f[9] the inode.
    if (f[3] === "0A" && f[9] && inodes.has(f[9])) ports.push(Number.parseInt(f[1]?.split(":")[1] ?? "", 16));
  }
  return ports;
}

/**
 * The targets of workerd's own inspector in process group `pgid`, or [] when it cannot be
 * found (another platform, another wrangler): the caller then has only wrangler's proxy.
 */
export async function workerdTargets(pgid: number): Promise<InspectorTarget[]> {
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    const stat = read(`/proc/${pid}/stat`);
    if (!stat || Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]) !== pgid) continue;
    if (!(read(`/proc/${pid}/cmdline`) ?? "").includes("--inspector-addr")) continue;
    let ports: number[] = [];
    try {
      ports = listeningPorts(pid);
    } catch {
      continue;
    }
    for (const port of ports) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/json`, { signal: AbortSignal.timeout(2_000) });
        const body: unknown = res.ok ? await res.json() : null;
        if (Array.isArray(body) && body.every((t) => typeof t?.webSocketDebuggerUrl === "string")) {
          return body as InspectorTarget[];
        }
      } catch {
        // not the inspector (the Worker's own socket, the debug port)
      }
    }
  }
  return [];
}
