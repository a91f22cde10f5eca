// `npm run test:prometheus`: the end-to-end check against a real Prometheus, which `.ci/run`
// installs (Debian's package) and runs after `npm test`. Not part of `npm test`, so the
// README's `npm test` passes on a machine without Prometheus. Like `npm test`, it runs
// through scripts/run-tests.ts, whose log check reads the junit file and console log
// written here, and it takes the shifted clock of AEGIS_TEST_NOW.

import { appendFileSync, mkdirSync } from "node:fs";
import { defineConfig } from "vitest/config";
import { CLOCK_OFFSET_VAR, offsetFor, shiftClock } from "./test/support/test-clock";

process.env[CLOCK_OFFSET_VAR] ??= String(offsetFor(process.env.AEGIS_TEST_NOW));
shiftClock(Number(process.env[CLOCK_OFFSET_VAR] ?? "0"));
mkdirSync("test-artifacts", { recursive: true });

export default defineConfig({
  test: {
    include: ["test/e2e/**/*.e2e.ts"],
    environment: "node",
    setupFiles: ["./test/support/clock-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    reporters: ["default", ["junit", { outputFile: "test-artifacts/vitest-junit.xml" }]],
    onConsoleLog(log) {
      appendFileSync("test-artifacts/console.log", log.endsWith("\n") ? log : `${log}\n`);
    },
  },
});
