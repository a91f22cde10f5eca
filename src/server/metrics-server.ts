// METRICS_PORT: /metrics on a port of its own, so that Prometheus scrapes a private
// interface and the gateway's public port doesn't answer /metrics at all (it proxies the
// path, as any other).

import type http from "node:http";
import { serve } from "@hono/node-server";
import { log } from "../core/log";
import { metricsOnlyApp, type RenderMetrics } from "../http/metrics-route";

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

export async function listenMetrics(options: {
  render: RenderMetrics;
  token: string | undefined;
  port: number;
  hostname: string;
}): Promise<MetricsServer> {
  if (!options.token && !LOOPBACK.has(options.hostname)) {
    log.warn(
      "the metrics port answers anyone who can reach it: set METRICS_TOKEN, or bind METRICS_HOST to a private address",
      {
        hostname: options.hostname,
      },
    );
  }
  const app = metricsOnlyApp(options.render, options.token);
  const server = serve({ fetch: app.fetch, port: options.port, hostname: options.hostname }) as http.Server;
  const port = await new Promise<number>((resolve, reject) => {
    server.once("listening", () => resolve((server.address() as { port: number }).port));
    server.once("error", reject);
  });
  return {
    url: `http://${options.hostname.includes(":") ? `[${options.hostname}]` : options.hostname}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
