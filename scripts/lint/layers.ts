// The layer table (docs/architecture.md, "Layers") as biome's per-folder noRestrictedImports
// overrides. `npm run lint:layers` writes them into biome.json; test/project/layers.test.ts
// fails when biome.json and this table disagree, and runs biome on probe files.

import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

export const FOLDERS = ["core", "db", "metering", "billing", "durable", "redis", "http", "server", "cli", "client"];
/** Modules at the top of src/: config.ts and defaults.ts are a layer; the rest are entries. */
export const ROOTS = [
  "config",
  "defaults",
  "env",
  "index",
  "hono",
  "hono-portable",
  "portable",
  "postgres",
  "tenant-limiter",
];

/** What each folder may import, besides itself. */
export const ALLOWED: Record<string, string[]> = {
  core: [],
  db: ["core", "config", "defaults"],
  metering: ["core", "config", "defaults", "db"],
  billing: ["core", "config", "defaults", "db"],
  durable: ["core", "config", "defaults", "db", "metering"],
  redis: ["core", "config", "defaults", "db", "metering"],
  http: ["core", "config", "defaults", "db", "metering", "billing"],
  server: ["core", "config", "defaults", "db", "metering", "billing", "redis", "http"],
  client: ["core"],
  cli: ["core", "client"],
};

/** Modules a folder must not reach although their layer is allowed. */
const EXTRA: Record<string, string[]> = {
  // The Durable Object opens no database: the Worker's entry supplies its snapshot source.
  durable: ["db/neon", "db/node", "db/snapshot-source"],
};

const WHY: Record<string, string> = {
  core: "src/core is pure: it imports only itself",
  db: "src/db sits on core and config only",
  metering: "src/metering sits on db, core and config (not billing, not anything above)",
  billing: "src/billing sits on db, core and config (not metering, not anything above)",
  durable:
    "src/durable is a limiter adapter: metering, db (but no database client: the entry supplies the snapshot source), core and config only",
  redis: "src/redis is a limiter adapter: it may import metering, db, core and config only",
  http: "src/http may not import a limiter adapter (durable, redis), a runtime entry or the SDK; the entries wire the store in",
  server: "src/server is the self-hosted runtime: everything but the Workers entries, the CLI and the SDK",
  client: "the SDK (src/client) is standalone: core only, and zod's schemas from src/http/schemas as types",
  cli: "the CLI uses the SDK and core only",
};

/** The import specifiers a file in src/<folder>/ (or one folder deeper) must not use. */
function refused(folder: string): string[] {
  const out: string[] = [];
  const allowed = ALLOWED[folder] ?? [];
  for (const up of ["..", "../.."]) {
    // The parent folder itself: src/index.ts, or a folder's index.
    out.push(up, `${up}/`);
    for (const name of FOLDERS)
      if (name !== folder && !allowed.includes(name)) out.push(`${up}/${name}`, `${up}/${name}/**`);
    for (const name of ROOTS) if (!allowed.includes(name)) out.push(`${up}/${name}`, `${up}/${name}.ts`);
    for (const module of EXTRA[folder] ?? []) out.push(`${up}/${module}`, `${up}/${module}.ts`);
  }
  if (folder === "core") out.push("../*", "../**");
  if (folder === "client") out.push("!../http/schemas");
  return out;
}

const override = (includes: string[], group: string[], message: string) => ({
  includes,
  linter: {
    rules: {
      style: { noRestrictedImports: { level: "error", options: { patterns: [{ group, message }] } } },
    },
  },
});

export function layerOverrides() {
  const below = [...FOLDERS, ...ROOTS].filter((n) => n !== "core" && n !== "config");
  return [
    ...FOLDERS.map((f) => override([`src/${f}/**`], refused(f), `${WHY[f]} (docs/architecture.md, "Layers").`)),
    override(
      ["src/config.ts", "src/defaults.ts"],
      [...below.map((n) => `./${n}`), ...FOLDERS.filter((n) => n !== "core").map((n) => `./${n}/**`)],
      'config.ts and defaults.ts sit on core only (docs/architecture.md, "Layers").',
    ),
  ];
}

if (import.meta.main) {
  const file = path.resolve(import.meta.dirname, "../../biome.json");
  const biome = JSON.parse(readFileSync(file, "utf8"));
  biome.overrides = layerOverrides();
  writeFileSync(file, `${JSON.stringify(biome, null, 2)}\n`);
  console.log(`biome.json: ${biome.overrides.length} layer overrides written`);
}
