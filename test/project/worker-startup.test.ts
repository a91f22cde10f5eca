// What the Worker evaluates when an isolate starts: everything src/index.ts imports
// statically. prom-client renders only GET /metrics, so it is imported there, dynamically;
// a static import anywhere on the way would make every request's cold start evaluate it.
// The graph is esbuild's, from the same bundling wrangler does (dependencies left out).

import path from "node:path";
import { build, type Metafile } from "esbuild";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");

async function metafile(entry: string): Promise<Metafile> {
  const result = await build({
    entryPoints: [path.join(ROOT, entry)],
    absWorkingDir: ROOT,
    bundle: true,
    write: false,
    metafile: true,
    format: "esm",
    platform: "neutral",
    packages: "external",
    external: ["cloudflare:*", "node:*"],
    logLevel: "silent",
  });
  return result.metafile;
}

/** The files and packages reachable from `entry` through static imports only. */
function staticallyReached(meta: Metafile, entry: string): Set<string> {
  const reached = new Set<string>([entry]);
  const queue = [entry];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    for (const imported of meta.inputs[file]?.imports ?? []) {
      if (imported.kind !== "import-statement" || reached.has(imported.path)) continue;
      reached.add(imported.path);
      queue.push(imported.path);
    }
  }
  return reached;
}

describe("the Worker's start-up imports", () => {
  it("do not include prom-client, which the /metrics render imports when it runs", async () => {
    const meta = await metafile("src/index.ts");
    const reached = staticallyReached(meta, "src/index.ts");
    // The walk follows the graph: the renderer is reached, and it does import prom-client.
    expect(reached).toContain("src/http/postgres-metrics.ts");
    const renderer = meta.inputs["src/http/postgres-metrics.ts"]?.imports ?? [];
    expect(renderer.filter((i) => i.path === "prom-client").map((i) => i.kind)).toEqual(["dynamic-import"]);
    expect([...reached].filter((p) => p === "prom-client" || p.startsWith("prom-client/"))).toEqual([]);
  });
});
