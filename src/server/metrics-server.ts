// METRICS_PORT: /metrics on a port of its own, so that Prometheus scrapes a private
// interface and the gateway's public port doesn't answer /metrics at all (it proxies the
// path, as any other).

import type http from "node:http";
import { serve } from "@hono/node-server";
import { metricsOnlyApp, type RenderMetrics } from "../http/metrics-route";

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
