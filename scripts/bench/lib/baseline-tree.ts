// An earlier commit's `src/`, extracted beside this checkout so that a benchmark can import
// the code before a change and the code after it into one process and measure them side by
// side, in the same rounds, on the same Redis.

import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

export interface BaselineTree {
  /** The commit, as `git rev-parse --short` names it. */
  commit: string;
  /** Imports a module of the commit's `src/`, for example "redis/redis-limiter-store.ts". */
  load<T>(module: string): Promise<T>;
  remove(): void;
}

/**
 * Extracts `rev`'s `src/` into a temporary directory (git archive; nothing in the working
 * tree changes). The directory links this checkout's node_modules, so the old code runs on
 * today's dependencies: the comparison is of the code alone.
 */
export function extractBaseline(rev: string): BaselineTree {
  const git = (...args: string[]) => execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();
  let commit: string;
  try {
    commit = git("rev-parse", "--short", `${rev}^{commit}`);
  } catch {
    throw new Error(`the baseline ${rev} is not a commit of ${ROOT}; set BENCH_BASELINE to one that is`);
  }
  const dir = mkdtempSync(path.join(tmpdir(), `aegis-baseline-${commit}-`));
  try {
    const archive = execFileSync("git", ["archive", "--format=tar", commit, "src"], {
      cwd: ROOT,
      maxBuffer: 256 * 1024 * 1024,
    });
    execFileSync("tar", ["-x", "-C", dir], { input: archive });
    symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    commit,
    load: (module) => import(path.join(dir, "src", module)),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
