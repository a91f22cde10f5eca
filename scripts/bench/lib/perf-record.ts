// Linux perf over workerd while a load runs: the native side (workerd's C++, SQLite, V8's
// runtime and compiler, the kernel) that V8's CPU profiler does not sample. JIT-compiled
// JavaScript shows as unnamed addresses here; the V8 profile names it.

import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface PerfRecording {
  /** Waits for perf to finish writing (it stops itself after `seconds`). */
  done(): Promise<void>;
}

/** Samples `pids` (all threads) at `hz` for `seconds` into `file`; null when perf is missing. */
export async function perfRecord(
  pids: number[],
  seconds: number,
  file: string,
  hz = 999,
): Promise<PerfRecording | null> {
  try {
    await run("perf", ["--version"]);
  } catch {
    return null;
  }
  const child = spawn(
    "perf",
    ["record", "-q", "-F", String(hz), "-p", pids.join(","), "-o", file, "--", "sleep", String(seconds)],
    {
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString("utf8");
  });
  const exited = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), (seconds + 30) * 1000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`perf record exited with ${code}: ${stderr.trim().slice(0, 500)}`));
    });
  });
  return { done: () => exited };
}

/** What a native symbol belongs to, coarsely: enough to tell the platform's parts apart. */
const CATEGORIES: [RegExp, string][] = [
  [/^sqlite3|^jsonTranslate|^json[A-Z]|^vdbe|^btree|^pager|^wal[A-Z]/, "SQLite"],
  [
    /^v8::internal::(Heap|Scavenger|MarkCompact|MinorMarkSweep|GCTracer|Sweeper|ConcurrentMarking|MarkingVisitor|MainMarkingVisitor|IncrementalMarking)|^v8::internal::.*(Evacuat|Marking|Sweep|Scaveng)/,
    "V8 garbage collector",
  ],
  [
    /^Builtins_|^\[JIT\]|^v8::internal::(Runtime_|Interpreter|Builtin)/,
    "V8 builtins, interpreter, JIT code (JavaScript)",
  ],
  [/^v8::internal::(compiler|Compiler|maglev|Maglev|Turbofan|baseline|Baseline|Parser|Scanner|Parse)/, "V8 compilers"],
  [/^v8::internal::(ValueSerializer|ValueDeserializer)|Serializ/, "serialization (structured clone, JSON)"],
  [/^v8::|^cppgc::/, "V8 runtime, other"],
  [/tcmalloc|^TCMalloc|^malloc|^free$|^operator new|^operator delete|^__libc_(malloc|free)/, "allocator (tcmalloc)"],
  [/^capnp::/, "Cap'n Proto (RPC, messages)"],
  [/^workerd::api::/, "workerd API (Headers, fetch, streams, DO storage)"],
  [/^workerd::jsg::/, "workerd JSG (JS bindings)"],
  [/^workerd::/, "workerd runtime, other (I/O context, actors, output gate)"],
  [/^kj::/, "KJ (event loop, async I/O, strings)"],
  [/^_?_?mem(cpy|move|set|cmp)|^__mem|^str(len|cmp)|^__str/, "libc memory and strings"],
];

function categoryOf(symbol: string, dso: string): string {
  if (dso.includes("kernel")) return "kernel (syscalls, network, scheduler)";
  if (dso.startsWith("[JIT]") || symbol.startsWith("[unknown]"))
    return "V8 builtins, interpreter, JIT code (JavaScript)";
  for (const [re, name] of CATEGORIES) if (re.test(symbol)) return name;
  return dso.includes("workerd") ? "workerd binary, other" : `${dso}, other`;
}

/**
 * Self samples of process `pid` by category, and its top symbols, from `perf script`.
 * Shares are of that process's samples.
 */
export async function perfSummary(
  file: string,
  pid: number,
  top: number,
): Promise<{ samples: number; categories: [string, number][]; symbols: [string, number][] }> {
  const { stdout } = await run("perf", ["script", "-i", file, "-F", "pid,ip,sym,dso"], {
    maxBuffer: 512 * 1024 * 1024,
    timeout: 180_000,
  });
  const categories = new Map<string, number>();
  const symbols = new Map<string, number>();
  let samples = 0;
  for (const line of stdout.split("\n")) {
    // "<pid> <address> <symbol> (<dso>)"; the symbol is "[unknown]" where perf has none.
    const m = /^\s*(\d+)\s+[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$/.exec(line);
    if (!m || Number(m[1]) !== pid) continue;
    const symbol = (m[2] ?? "").replace(/\+0x[0-9a-f]+$/, "") || "[unknown]";
    const dso = m[3] ?? "";
    samples++;
    const category = categoryOf(symbol, dso);
    categories.set(category, (categories.get(category) ?? 0) + 1);
    const short = symbol.replace(/<.*>/, "<...>").replace(/\(.*\)$/, "");
    symbols.set(short, (symbols.get(short) ?? 0) + 1);
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return { samples, categories: sorted(categories), symbols: sorted(symbols).slice(0, top) };
}
