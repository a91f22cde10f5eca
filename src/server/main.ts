// `npm run serve`: the self-hosted gateway. The same file runs under Bun and Deno:
//   bun src/server/main.ts
//   deno run -A --unstable-sloppy-imports src/server/main.ts
// Settings come from the environment (README.md, "Run it yourself"); PORT sets the port.
// Running it in production: docs/self-hosting.md.

import process from "node:process";
import { ConfigError, loadConfig } from "../config";
import { log } from "../core/log";
import { DatabaseNotReadyError } from "./schema-check";
import { SelfHostedConfigError, startSelfHosted } from "./self-hosted";

try {
  // Every setting is checked before anything starts: PORT=abc is a clear error, not a stack trace.
  const { PORT, HOST } = loadConfig(process.env);
  const server = await startSelfHosted({ env: process.env, port: PORT, hostname: HOST });
  const metricsOn = server.config.METRICS_TOKEN !== undefined || server.config.METRICS_PORT !== undefined;
  log.info("aegis-edge self-hosted gateway listening", {
    url: server.url,
    // A /metrics that would answer 503 is not worth pointing Prometheus at.
    metrics: metricsOn ? server.metricsUrl : "off (set METRICS_TOKEN or METRICS_PORT)",
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info("shutting down", { signal });
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
} catch (err) {
  if (err instanceof ConfigError || err instanceof SelfHostedConfigError || err instanceof DatabaseNotReadyError) {
    console.error(`aegis-edge: ${err.message}`);
    process.exit(2);
  }
  throw err;
}
