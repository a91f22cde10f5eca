// `npm run test:prometheus`: the end-to-end check against a real Prometheus, which `.ci/run`
// installs (Debian's package) and runs after `npm test`. Not part of `npm test`, so the
// README's `npm test` passes on a machine without Prometheus.

import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/e2e/**/*.e2e.ts"],
    environment: "node",
    setupFiles: ["./test/support/clock-setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    reporters: ["default", ["junit", { outputFile: "test-artifacts/prometheus-junit.xml" }]],
  },
});
