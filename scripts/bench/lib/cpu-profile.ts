// Summaries of a V8 CPU profile (Chrome DevTools Protocol `Profiler.stop`): self and
// inclusive time per function and per source file, with the Worker's bundle mapped back to
// src/ through its source map. Shares are of samples, not of summed time deltas: under CPU
// contention the sampler thread is starved now and then, and one long delta would then be
// credited to whatever happened to run before it.

import { existsSync, readFileSync } from "node:fs";
import { SourceMap } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { median } from "../stats";

export interface CallFrame {
  functionName: string;
  scriptId: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

export interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** Where a frame's function comes from, after source mapping. */
interface Place {
  /** Source file relative to the project (src/http/app.ts), a package (node_modules/hono), a builtin, or (native). */
  file: string;
  /** 1-based line in that file, or 0 when unknown. */
  line: number;
}

/** Pseudo-frames V8 adds: time outside JavaScript. */
const SPECIAL = new Set(["(idle)", "(program)", "(garbage collector)", "(root)"]);

/** What `Debugger.scriptParsed` says of a script: wrangler's proxy gives the bundle a file:// URL. */
export interface ParsedScript {
  scriptId: string;
  url: string;
  sourceMapURL?: string;
}

/**
 * Maps frames of file:// scripts back to their sources; other URLs stand as they are. A
 * profile names the Worker's bundle by its module name ("index.js"), so `scripts` (from
 * `Debugger.scriptParsed`, by script id) supplies where it is on disk.
 */
export class FrameLocator {
  private readonly maps = new Map<string, { map: SourceMap; dir: string } | null>();
  private readonly scripts: Map<string, ParsedScript>;

  constructor(
    private readonly root: string,
    scripts: ParsedScript[] = [],
  ) {
    this.scripts = new Map(scripts.map((s) => [s.scriptId, s]));
  }

  place(frame: CallFrame): Place {
    if (SPECIAL.has(frame.functionName) && frame.url === "") return { file: frame.functionName, line: 0 };
    if (frame.url === "") return { file: "(native)", line: 0 };
    const script = this.scripts.get(frame.scriptId);
    const url = script?.url || frame.url;
    if (!url.startsWith("file://")) return { file: url, line: frame.lineNumber + 1 };
    const file = fileURLToPath(url);
    const loaded = this.load(file, script?.sourceMapURL);
    if (loaded) {
      const entry = loaded.map.findEntry(frame.lineNumber, frame.columnNumber) as {
        originalSource?: string;
        originalLine?: number;
      };
      if (entry.originalSource) {
        const source = entry.originalSource.startsWith("file://")
          ? fileURLToPath(entry.originalSource)
          : path.resolve(loaded.dir, entry.originalSource);
        return { file: this.shorten(source), line: (entry.originalLine ?? -1) + 1 };
      }
    }
    return { file: this.shorten(file), line: frame.lineNumber + 1 };
  }

  /** The profile with every frame's URL and line those of its source (src/..., 0-based lines). */
  rewrite(profile: CpuProfile): CpuProfile {
    const nodes = profile.nodes.map((n) => {
      const p = this.place(n.callFrame);
      if (p.file.startsWith("(")) return n;
      return { ...n, callFrame: { ...n.callFrame, url: p.file, lineNumber: p.line - 1, columnNumber: 0 } };
    });
    return { ...profile, nodes };
  }

  /** The script's source map, read while wrangler's bundle is still on disk. */
  private load(file: string, sourceMapURL: string | undefined): { map: SourceMap; dir: string } | null {
    if (this.maps.has(file)) return this.maps.get(file) ?? null;
    let loaded: { map: SourceMap; dir: string } | null = null;
    try {
      // Else the bundle's own comment; the last one wins, as wrangler may append code.
      const ref =
        sourceMapURL || [...readFileSync(file, "utf8").matchAll(/^\/\/# sourceMappingURL=(\S+)/gm)].at(-1)?.[1];
      if (ref && !ref.startsWith("data:")) {
        const mapFile = ref.startsWith("file://") ? fileURLToPath(ref) : path.resolve(path.dirname(file), ref);
        if (existsSync(mapFile)) {
          loaded = { map: new SourceMap(JSON.parse(readFileSync(mapFile, "utf8"))), dir: path.dirname(mapFile) };
        }
      }
    } catch {
      loaded = null;
    }
    this.maps.set(file, loaded);
    return loaded;
  }

  /** node_modules/<package> (scoped too), else the path from the project root. */
  private shorten(file: string): string {
    const rel = path.relative(this.root, file).split(path.sep).join("/");
    const nm = rel.lastIndexOf("node_modules/");
    if (nm >= 0) {
      const parts = rel.slice(nm + "node_modules/".length).split("/");
      const pkg = parts[0]?.startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0];
      return `node_modules/${pkg}`;
    }
    return rel.startsWith("..") ? file : rel;
  }
}

export interface Row {
  key: string;
  /** Samples with this entry on top of the stack. */
  self: number;
  /** Samples with this entry anywhere on the stack (counted once per sample). */
  total: number;
}

export interface ProfileSummary {
  samples: number;
  durationMs: number;
  /**
   * The median time between samples. workerd's isolate is only sampled while it runs (the
   * thread inside V8); the gaps between those stretches are long, so samples times this,
   * not the wall time over the samples, estimates the time spent in the isolate.
   */
  medianIntervalUs: number;
  /** Per function: "name file:line". */
  functions: Row[];
  /** Per source file; self counts only frames of the file itself. */
  files: Row[];
  /** Per source file, with the self time of native calls (sql.exec, crypto) given to their JS caller. */
  filesWithNatives: Row[];
  /** Native functions' self samples by the first JavaScript function below them: "exec <- f src/x.ts:9". */
  nativeCallers: Row[];
  /** (idle), (program), (garbage collector) samples. */
  special: Record<string, number>;
  /**
   * JavaScript samples by who is on the stack: the Durable Object (a src/durable/ frame),
   * the Worker (src/ frames, none of src/durable/), or neither (runtime glue, builtins).
   * Approximate: a continuation after an `await` has only its own function below it.
   */
  roles: Record<string, number>;
}

/** Self and inclusive sample counts per function and per file. */
export function summarize(profile: CpuProfile, locator: FrameLocator): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const places = new Map<number, Place>();
  const placeOf = (id: number): Place => {
    let p = places.get(id);
    if (!p) {
      const frame = byId.get(id)?.callFrame;
      p = frame ? locator.place(frame) : { file: "(unknown)", line: 0 };
      places.set(id, p);
    }
    return p;
  };
  const functionKey = (id: number): string => {
    const frame = byId.get(id)?.callFrame;
    const p = placeOf(id);
    const name = frame?.functionName || "(anonymous)";
    return p.file.startsWith("(") ? (name === p.file ? name : `${name} ${p.file}`) : `${name} ${p.file}:${p.line}`;
  };
  const functions = new Map<string, Row>();
  const files = new Map<string, Row>();
  const filesWithNatives = new Map<string, Row>();
  const nativeCallers = new Map<string, Row>();
  const special: Record<string, number> = {};
  const roles: Record<string, number> = {};
  const bump = (table: Map<string, Row>, key: string, field: "self" | "total") => {
    const row = table.get(key) ?? { key, self: 0, total: 0 };
    row[field]++;
    table.set(key, row);
  };
  const samples = profile.samples ?? [];
  for (const leaf of samples) {
    const leafPlace = placeOf(leaf);
    if (SPECIAL.has(leafPlace.file)) special[leafPlace.file] = (special[leafPlace.file] ?? 0) + 1;
    bump(functions, functionKey(leaf), "self");
    bump(files, leafPlace.file, "self");
    // A native leaf's time goes to the first JavaScript frame below it.
    let owner: number | undefined = leaf;
    while (owner !== undefined && placeOf(owner).file === "(native)") owner = parent.get(owner);
    if (owner !== undefined && placeOf(owner).file === "(root)") owner = undefined;
    bump(filesWithNatives, owner === undefined ? "(native)" : placeOf(owner).file, "self");
    if (owner !== leaf) {
      const name = byId.get(leaf)?.callFrame.functionName || "(anonymous)";
      bump(nativeCallers, `${name} <- ${owner === undefined ? "(none)" : functionKey(owner)}`, "self");
    }
    const seenFunctions = new Set<string>();
    const seenFiles = new Set<string>();
    for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
      if (placeOf(id).file === "(root)") continue;
      seenFunctions.add(functionKey(id));
      seenFiles.add(placeOf(id).file);
    }
    if (!SPECIAL.has(leafPlace.file)) {
      const role = [...seenFiles].some((f) => f.startsWith("src/durable/"))
        ? "Durable Object (src/durable/ on the stack)"
        : [...seenFiles].some((f) => f.startsWith("src/"))
          ? "Worker (src/ on the stack, no src/durable/)"
          : "neither (runtime glue, builtins, wrappers)";
      roles[role] = (roles[role] ?? 0) + 1;
    }
    for (const key of seenFunctions) bump(functions, key, "total");
    for (const key of seenFiles) {
      bump(files, key, "total");
      bump(filesWithNatives, key, "total");
    }
  }
  const sorted = (table: Map<string, Row>) => [...table.values()].sort((a, b) => b.self - a.self);
  return {
    samples: samples.length,
    durationMs: (profile.endTime - profile.startTime) / 1000,
    medianIntervalUs: median(profile.timeDeltas ?? []),
    functions: sorted(functions),
    files: sorted(files),
    filesWithNatives: sorted(filesWithNatives),
    nativeCallers: sorted(nativeCallers),
    special,
    roles,
  };
}

/**
 * A Markdown table of the top `n` rows by `by`, with shares of all samples and, given
 * `usPerSample` (the profile's mean interval spread over the calls served), microseconds a call.
 */
export function table(
  rows: Row[],
  samples: number,
  by: "self" | "total",
  n: number,
  label: string,
  usPerSample = 0,
): string {
  const pct = (x: number) => `${((x / Math.max(1, samples)) * 100).toFixed(1)}%`;
  const us = (x: number) => (usPerSample > 0 ? ` ${(x * usPerSample).toFixed(1)} |` : "");
  const head = usPerSample > 0 ? " self us/call | total us/call |" : "";
  const rule = usPerSample > 0 ? "---:|---:|" : "";
  const top = [...rows].sort((a, b) => b[by] - a[by] || b.self - a.self).slice(0, n);
  const lines = [`| ${label} | self | self % | total | total % |${head}`, `|---|---:|---:|---:|---:|${rule}`];
  for (const r of top) {
    const key = r.key.replaceAll("|", "\\|");
    lines.push(`| ${key} | ${r.self} | ${pct(r.self)} | ${r.total} | ${pct(r.total)} |${us(r.self)}${us(r.total)}`);
  }
  return lines.join("\n");
}
