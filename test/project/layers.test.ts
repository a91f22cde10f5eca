// Imports flow downward: biome's noRestrictedImports, one override per folder of src/, fails
// `npm run lint` (and so `npm test`) on an upward import. These tests run biome itself on
// probe files laid out like src/, so they fail if a rule is lost, loosened or mistyped, and
// if a folder of src/ has no rule at all.

import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { layerOverrides } from "../../scripts/lint/layers";

const ROOT = path.resolve(import.meta.dirname, "../..");
const BIOME = path.join(ROOT, "node_modules/.bin/biome");

/** Each folder, an import it must refuse and one it may make (from a file one level down). */
const PROBES: Record<string, { refused: string[]; allowed: string[] }> = {
  core: { refused: ["../config", "../config.ts", "..", "../db/database", "../http/problem"], allowed: ["./limits"] },
  db: {
    refused: ["../metering/ingest", "../billing/invoices", "../http/app", "../env"],
    allowed: ["../core/limits", "../config"],
  },
  metering: {
    refused: ["../billing/invoices", "../http/problem", "../redis/keys"],
    allowed: ["../db/lock", "../core/limits"],
  },
  billing: {
    refused: ["../metering/ingest", "../http/problem", "../durable/limiter-storage"],
    allowed: ["../db/lock"],
  },
  durable: {
    refused: [
      "../http/problem",
      "../redis/keys",
      "../env",
      "../billing/invoices",
      "../tenant-limiter",
      "../db/neon",
      "../db/snapshot-source",
    ],
    allowed: ["../metering/messages", "../db/tenants"],
  },
  redis: {
    refused: ["../http/problem", "../durable/limiter-storage", "../server/self-hosted"],
    allowed: ["../metering/queue-consumer"],
  },
  http: {
    refused: ["../durable/durable-object-store", "../redis/keys", "../env", "../hono", "../client/index"],
    allowed: ["../billing/invoices", "../metering/messages"],
  },
  server: {
    refused: ["../index", "../hono", "../cli/cli", "../client/index"],
    allowed: ["../http/app", "../redis/keys"],
  },
  client: { refused: ["../http/problem", "../config", "../db/schema"], allowed: ["../http/schemas", "../core/limits"] },
  cli: { refused: ["../http/app", "../db/schema", "../config"], allowed: ["../client/index", "../core/money"] },
};

const dir = mkdtempSync(path.join(tmpdir(), "aegis-layers-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Biome's diagnostics for the probes, as "file: message" lines. */
function lintProbes(): string[] {
  const config = JSON.parse(readFileSync(path.join(ROOT, "biome.json"), "utf8"));
  config.vcs = { enabled: false };
  config.files = { includes: ["src/**"] };
  writeFileSync(path.join(dir, "biome.json"), JSON.stringify(config));
  for (const [folder, { refused, allowed }] of Object.entries(PROBES)) {
    mkdirSync(path.join(dir, "src", folder, "deep"), { recursive: true });
    refused.forEach((spec, i) => {
      writeFileSync(path.join(dir, "src", folder, `refused${i}.ts`), `export * from "${spec}";\n`);
      // The same import from a subfolder, one more "../".
      writeFileSync(path.join(dir, "src", folder, "deep", `refused${i}.ts`), `export * from "../${spec}";\n`);
    });
    allowed.forEach((spec, i) => {
      writeFileSync(path.join(dir, "src", folder, `allowed${i}.ts`), `export * from "${spec}";\n`);
    });
  }
  let out: string;
  try {
    out = execFileSync(BIOME, ["lint", "--only=style/noRestrictedImports", "--reporter=json", "src"], {
      cwd: dir,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (err) {
    out = (err as { stdout: string }).stdout;
  }
  const report = JSON.parse(out) as {
    diagnostics: { location: { path: { file: string } | string }; category: string }[];
  };
  return report.diagnostics
    .filter((d) => d.category === "lint/style/noRestrictedImports")
    .map((d) => (typeof d.location.path === "string" ? d.location.path : d.location.path.file));
}

describe("layers", () => {
  const flagged = new Set(lintProbes().map((f) => f.replace(/\\/g, "/")));

  for (const [folder, { refused, allowed }] of Object.entries(PROBES)) {
    it(`src/${folder} refuses ${refused.join(", ")} and allows ${allowed.join(", ")}`, () => {
      refused.forEach((spec, i) => {
        expect(flagged, `src/${folder} importing ${spec}`).toContain(`src/${folder}/refused${i}.ts`);
        expect(flagged, `src/${folder}/deep importing ../${spec}`).toContain(`src/${folder}/deep/refused${i}.ts`);
      });
      allowed.forEach((spec, i) => {
        expect(flagged, `src/${folder} importing ${spec}`).not.toContain(`src/${folder}/allowed${i}.ts`);
      });
    });
  }

  it("has a rule for every folder of src/", () => {
    const folders = readdirSync(path.join(ROOT, "src")).filter((f) =>
      statSync(path.join(ROOT, "src", f)).isDirectory(),
    );
    expect(folders.sort()).toEqual(Object.keys(PROBES).sort());
  });

  it("keeps biome.json's overrides as the layer table writes them (npm run lint:layers)", () => {
    const config = JSON.parse(readFileSync(path.join(ROOT, "biome.json"), "utf8"));
    expect(config.overrides).toEqual(layerOverrides());
  });
});
