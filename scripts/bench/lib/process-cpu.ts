// CPU time of a process group's threads, read from /proc (Linux): what a benchmark's load
// really cost each process (wrangler, workerd) and thread, whatever the profiler saw.

import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

let ticksPerSecond: number | null = null;

function clockTicks(): number {
  ticksPerSecond ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  return ticksPerSecond;
}

/** Fields of /proc/.../stat after the parenthesised name, which may hold spaces. */
function statFields(text: string): { name: string; rest: string[] } {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  return {
    name: text.slice(open + 1, close),
    rest: text
      .slice(close + 2)
      .trim()
      .split(" "),
  };
}

function readOrNull(file: string): string | null {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return null; // gone meanwhile
  }
}

/** The processes of group `pgid`: id, name and command line. */
export function groupProcesses(pgid: number): { pid: number; name: string; cmdline: string }[] {
  const out: { pid: number; name: string; cmdline: string }[] = [];
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    const stat = readOrNull(`/proc/${pid}/stat`);
    if (!stat) continue;
    const proc = statFields(stat);
    if (Number(proc.rest[2]) !== pgid) continue;
    out.push({
      pid: Number(pid),
      name: proc.name,
      cmdline: (readOrNull(`/proc/${pid}/cmdline`) ?? "").replaceAll("\0", " "),
    });
  }
  return out;
}

/**
 * A process's name for the table. wrangler dev runs two workerd: its own proxy in front
 * (no inspector) and the runtime that holds the Worker (started with --inspector-addr).
 */
function label(pid: string, name: string): string {
  if (name !== "workerd") return `${name} ${pid}`;
  const cmdline = readOrNull(`/proc/${pid}/cmdline`) ?? "";
  return `workerd ${pid} (${cmdline.includes("--inspector-addr") ? "the Worker's runtime" : "wrangler's proxy in front"})`;
}

/**
 * CPU milliseconds (user + system) so far of every thread in process group `pgid`, summed
 * by "process name and id: thread name". Threads that ended are not counted: take a delta around
 * a load, during which the processes live.
 */
export function groupCpuMs(pgid: number): Map<string, number> {
  const out = new Map<string, number>();
  const msPerTick = 1000 / clockTicks();
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    const stat = readOrNull(`/proc/${pid}/stat`);
    if (!stat) continue;
    const proc = statFields(stat);
    // After the name: state, ppid, pgrp, ... utime (14th field) and stime (15th).
    if (Number(proc.rest[2]) !== pgid) continue;
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      const taskStat = readOrNull(`/proc/${pid}/task/${tid}/stat`);
      if (!taskStat) continue;
      const task = statFields(taskStat);
      const ms = (Number(task.rest[11]) + Number(task.rest[12])) * msPerTick;
      const key = `${label(pid, proc.name)}: ${task.name}`;
      out.set(key, (out.get(key) ?? 0) + ms);
    }
  }
  return out;
}

/** `after - before` per key, dropping threads that used no CPU in between. */
export function cpuDelta(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, ms] of after) {
    const d = ms - (before.get(key) ?? 0);
    if (d > 0) out.set(key, d);
  }
  return out;
}
