// npm run build: ESM bundles and type declarations for every entry point, into dist/.
//
// esbuild bundles each entry (shared code split into chunks; dependencies stay imports).
// tsc writes the declarations, and their relative imports get the ".js" a Node-resolving
// TypeScript needs, since the sources import without extensions, as bundlers do.

import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { build } from "esbuild";
import { ROOT } from "./lib/wrangler-dev";

const DIST = path.join(ROOT, "dist");

/** dist/<name>.js from src/<file>. */
export const ENTRIES: Record<string, string> = {
  index: "src/index.ts",
  portable: "src/portable.ts",
  hono: "src/hono.ts",
  "hono-portable": "src/hono-portable.ts",
  client: "src/client/index.ts",
  redis: "src/redis/index.ts",
  "redis-node-socket": "src/redis/resp/node-socket.ts",
  "redis-cloudflare-socket": "src/redis/resp/cloudflare-socket.ts",
  server: "src/server/index.ts",
  postgres: "src/postgres.ts",
  cli: "src/cli/main.ts",
};

rmSync(DIST, { recursive: true, force: true });
await build({
  entryPoints: Object.fromEntries(Object.entries(ENTRIES).map(([name, file]) => [name, path.join(ROOT, file)])),
  outdir: DIST,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  packages: "external",
  external: ["cloudflare:*", "node:*"],
  sourcemap: true,
  chunkNames: "chunks/[name]-[hash]",
  logLevel: "warning",
});
const cli = path.join(DIST, "cli.js");
writeFileSync(cli, `#!/usr/bin/env node\n${readFileSync(cli, "utf8").replace(/^#!.*\n/, "")}`);
chmodSync(cli, 0o755);

execFileSync(path.join(ROOT, "node_modules", ".bin", "tsc"), ["-p", path.join(ROOT, "tsconfig.build.json")], {
  stdio: "inherit",
});

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) yield* files(full);
    else yield full;
  }
}
let rewritten = 0;
for (const file of files(path.join(DIST, "types"))) {
  if (!file.endsWith(".d.ts")) continue;
  const source = readFileSync(file, "utf8");
  const next = source.replace(
    /(from\s+|import\()(["'])(\.{1,2}\/[^"']+)\2/g,
    (whole, lead: string, quote: string, spec: string) => {
      if (/\.(js|json)$/.test(spec)) return whole;
      const target = path.resolve(path.dirname(file), spec);
      if (existsSync(`${target}.d.ts`)) return `${lead}${quote}${spec}.js${quote}`;
      if (existsSync(path.join(target, "index.d.ts"))) return `${lead}${quote}${spec}/index.js${quote}`;
      return whole;
    },
  );
  if (next !== source) {
    writeFileSync(file, next);
    rewritten++;
  }
}
console.log(
  `build: dist/ has ${Object.keys(ENTRIES).length} entry points; ${rewritten} declaration files had their imports given extensions`,
);
