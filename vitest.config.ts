import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { TEST_WEBHOOK_SECRET } from "./test/support/webhook-secret";

// Keep local workerd runs offline and quiet: without these, wrangler tries to fetch the
// Request.cf object from workers.cloudflare.com and to send metrics, and test machines have
// no internet.
process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
process.env.WRANGLER_SEND_METRICS ??= "false";

export const TEST_ADMIN_TOKEN = "test-admin-token-0123456789";
export const TEST_KEY_SIGNING_SECRET = "test-key-signing-secret-0123456789abcdef";

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: "unit",
          include: ["test/unit/**/*.test.ts"],
          environment: "node",
        },
      },
      {
        test: {
          name: "node",
          include: ["test/node/**/*.test.ts", "test/redis/**/*.test.ts", "test/conformance/**/*.node.test.ts"],
          environment: "node",
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
                BILLING_WEBHOOK_URL: `${inject("webhookUrl")}/hooks/cron/200`,
                BILLING_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET,
                BILLING_UNIT_COST: "0.0000015",
                ROUTES: JSON.stringify([
                  { method: "POST", path: "/v1/chat/*", route: "chat", cost: 1 },
                  { path: "/v1/embeddings", route: "embed", cost: 2 },
                  { path: "/health", route: "health", public: true },
                ]),
              },
            },
          })),
        ],
        test: {
          name: "workers",
          include: ["test/workers/**/*.test.ts", "test/conformance/**/*.workers.test.ts"],
          globalSetup: ["./test/support/workers-setup.ts"],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
    ],
  },
});
