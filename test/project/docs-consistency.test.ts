// The docs say what the code does: the figures they quote come from the code's constants,
// and every Markdown file they (or the code's comments) point to exists in the repository.

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PROBLEM_CODES } from "../../src/core/problem-codes";
import { FULL_PARSE_BYTES } from "../../src/core/usage-sniffer";

const ROOT = path.resolve(import.meta.dirname, "../..");
const read = (file: string) => readFileSync(path.join(ROOT, file), "utf8");

function filesUnder(dir: string, pattern: RegExp): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(ROOT, dir))) {
    const rel = path.join(dir, entry);
    if (statSync(path.join(ROOT, rel)).isDirectory()) out.push(...filesUnder(rel, pattern));
    else if (pattern.test(entry)) out.push(rel);
  }
  return out;
}

describe("docs agree with the code", () => {
  it("quote the JSON sniffer's limit as the code sets it", () => {
    const mb = FULL_PARSE_BYTES / (1024 * 1024);
    const docs = read("docs/architecture.md").replace(/\s+/g, " ");
    const quoted = [...docs.matchAll(/JSON[^.]*?(?:kept|copy)[^.]*?(\d+) MB/g)].map((m) => Number(m[1]));
    expect(quoted.length).toBeGreaterThan(0);
    expect(
      quoted.every((n) => n === mb),
      `docs quote ${quoted.join(", ")} MB, the code keeps ${mb} MB`,
    ).toBe(true);
  });

  it("point only to Markdown files that are in the repository", () => {
    const sources = [
      "README.md",
      "BENCHMARKS.md",
      "vitest.config.ts",
      ...filesUnder("docs", /\.md$/),
      ...filesUnder("src", /\.tsx?$/),
      ...filesUnder("scripts", /\.ts$/),
    ];
    const missing: string[] = [];
    for (const file of sources) {
      for (const [ref] of read(file).matchAll(/[\w./-]*[A-Za-z]\.md\b/g)) {
        const candidates = [path.join(ROOT, ref), path.join(ROOT, path.dirname(file), ref)];
        if (!candidates.some((c) => existsSync(c))) missing.push(`${file} -> ${ref}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("show the embedding examples as they are in examples/embedding/, which a test runs", () => {
    const readme = read("README.md");
    const section = readme.slice(readme.indexOf("## Embed the limiter"), readme.indexOf("### On Workers"));
    const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");
    expect(blocks).toHaveLength(4);
    const examples = ["memory", "redis", "postgres"].map((name) => read(`examples/embedding/${name}.ts`)).join("\n");
    for (const block of blocks) expect(examples, "a README block not in examples/embedding/").toContain(block);
  });

  it("describe every problem code the gateway can send, and no other", () => {
    const documented = [...read("docs/problems.md").matchAll(/^\| `([a-z-]+)`/gm)].map((m) => m[1]);
    expect([...documented].sort()).toEqual([...PROBLEM_CODES].sort());
  });
});
