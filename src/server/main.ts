// `npm run serve`: the self-hosted gateway. The same file runs under Bun and Deno:
//   bun src/server/main.ts
//   deno run -A --unstable-sloppy-imports src/server/main.ts
// Settings come from the environment (README.md, "Run it yourself"); PORT sets the port.

import process from "node:process";
import { ConfigError } from "../config";
import { log } from "../core/log";
import { SelfHostedConfigError, startSelfHosted } from "./self-hosted";

try {
  const server = await startSelfHosted({
    env: process.env,
    port: Number(process.env.PORT ?? 8787),
    hostname: process.env.HOST ?? "127.0.0.1",
  });
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
  if (err instanceof ConfigError || err instanceof SelfHostedConfigError) {
    console.error(`aegis-edge: ${err.message}`);
    process.exit(2);
  }
  throw err;
}
