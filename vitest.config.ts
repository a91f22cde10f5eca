import { appendFileSync, mkdirSync } from "node:fs";
import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { configDefaults, defineConfig } from "vitest/config";
import { CLOCK_OFFSET_VAR, offsetFor, shiftClock } from "./test/support/test-clock";
import { TEST_WEBHOOK_SECRET } from "./test/support/webhook-secret";

// Keep local workerd runs offline and quiet: without these, wrangler tries to fetch the
// Request.cf object from workers.cloudflare.com and to send metrics, and test machines have
// no internet.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
process.env.WRANGLER_SEND_METRICS ??= "false";

// AEGIS_TEST_NOW shifts the clock of the whole run (test/support/test-clock.ts): computed
// once, here, and inherited by every process the run starts.
process.env[CLOCK_OFFSET_VAR] ??= String(offsetFor(process.env.AEGIS_TEST_NOW));
const clockOffset = process.env[CLOCK_OFFSET_VAR] ?? "0";
shiftClock(Number(clockOffset));

// Emptied by scripts/run-tests.ts (npm test) before each run; appended to here.
const CONSOLE_LOG = "test-artifacts/console.log";
mkdirSync("test-artifacts", { recursive: true });

const SPIKE_TEST = "test/limiter/coalescer-cross-request.workers.test.ts";

export const TEST_ADMIN_TOKEN = "test-admin-token-0123456789";
export const TEST_KEY_SIGNING_SECRET = "test-key-signing-secret-0123456789abcdef";

export default defineConfig({
  test: {
    // Two test files at a time, whatever the core count (vitest's default is cores - 1, one
    // file at a time on a 2-core CI machine). Most files wait on Postgres, Redis, workerd,
    // Chromium or child processes rather than compute: two at a time cut the suite from about
    // 708 s to 450 s on 2 cores, with every file passing (README, "Development").
    maxWorkers: 2,
    // The junit file keeps every test's console output: scripts/check-test-logs.ts reads it
    // after `npm test`, so a key, token or secret written to a log fails the run.
    reporters: ["default", ["junit", { outputFile: "test-artifacts/vitest-junit.xml" }]],
    // Every console line vitest sees, also those logged outside any test, for the same check.
    onConsoleLog(log) {
      appendFileSync(CONSOLE_LOG, log.endsWith("\n") ? log : `${log}\n`);
    },
    projects: [
      {
        test: {
          name: "unit",
          // Tests live by subject (test/<area>/); the file name says what runs them: plain
          // *.test.ts here, *.node.test.ts in "node", *.workers.test.ts in "workers".
          include: ["test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, "test/**/*.node.test.ts", "test/**/*.workers.test.ts"],
          environment: "node",
          setupFiles: ["./test/support/clock-setup.ts"],
          // The property tests are CPU-bound: with two files at a time on 2 cores and other
          // work on the machine, one took 7.7 s where it takes 2 s alone. The timeout guards
          // against a hang, not a slow machine.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: "node",
          include: ["test/**/*.node.test.ts"],
          // The embedding examples import the package by name, as an app would.
          alias: {
            "aegis-edge/hono": new URL("./src/hono-portable.ts", import.meta.url).pathname,
            "aegis-edge/redis/node-socket": new URL("./src/redis/resp/node-socket.ts", import.meta.url).pathname,
            "aegis-edge/redis": new URL("./src/redis/index.ts", import.meta.url).pathname,
          },
          environment: "node",
          setupFiles: ["./test/support/clock-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 130_000,
        },
      },
      {
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                DATABASE_URL: inject("databaseUrl"),
                NEON_WS_PROXY: inject("wsProxy"),
                UPSTREAM_URL: inject("upstreamUrl"),
                ADMIN_TOKEN: TEST_ADMIN_TOKEN,
                KEY_SIGNING_SECRET: TEST_KEY_SIGNING_SECRET,
                TEST_REDIS_URL: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379/0",
                [CLOCK_OFFSET_VAR]: clockOffset,
                BILLING_WEBHOOK_URL: `${inject("webhookUrl")}/hooks/cron/200`,
                BILLING_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
                BILLING_UNIT_COST: "0.0000015",
                ROUTES: JSON.stringify([
                  { method: "POST", path: "/v1/chat/*", route: "chat", cost: 1 },
                  { path: "/v1/embeddings", route: "embed", cost: 2 },
                  { path: "/health", route: "health", public: true },
                  { method: "POST", path: "/v1/messages", route: "msgs", tokens: true, maxTokens: 64 },
                ]),
              },
            },
          })),
        ],
        test: {
          name: "workers",
          include: ["test/**/*.workers.test.ts"],
          exclude: [...configDefaults.exclude, SPIKE_TEST],
          globalSetup: ["./test/support/workers-setup.ts"],
          setupFiles: ["./test/support/workers/clock-setup.ts"],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        // A Worker of the test's own, not the gateway: module state shared by two requests
        // of one isolate (the settle coalescer across requests, issue 18 WP1).
        plugins: [
          cloudflareTest({
            main: "./test/support/workers/coalescer-spike-worker.ts",
            miniflare: { compatibilityDate: "2026-11-01", compatibilityFlags: ["nodejs_compat"] },
          }),
        ],
        test: { name: "workers-spike", include: [SPIKE_TEST], testTimeout: 30_000 },
      },
    ],
  },
});
