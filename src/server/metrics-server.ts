// How the self-hosted server counts and serves its metrics: prom-client for /metrics, the
// console's per-minute call counter beside it, and with METRICS_PORT /metrics on a port of
// its own, so that Prometheus scrapes a private interface and the gateway's public port
// doesn't answer /metrics at all (it proxies the path, as any other).

import type http from "node:http";
import { serve } from "@hono/node-server";
import type { Config } from "../config";
import { CallRates, countingCalls } from "../core/call-rates";
import { log } from "../core/log";
import type { GatewayDeps } from "../http/context";
import { metricsOnlyApp, type RenderMetrics } from "../http/metrics-route";
import { PromMetrics } from "./metrics";

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

export interface SelfHostedMetrics {
  /** Always counted into, even with the gateway's metrics off: the pipeline's metrics register here. */
  prom: PromMetrics;
  /** What the gateway is given: the metrics port, the fleet page's counter and, without a metrics port, /metrics. */
  deps: Pick<GatewayDeps, "metrics" | "callRates" | "renderMetrics">;
  /** Opens the metrics port, when there is one. */
  listen(): Promise<MetricsServer | null>;
}

export function selfHostedMetrics(
  config: Config,
  options: { on: boolean; port: number | undefined; hostname: string },
): SelfHostedMetrics {
  const prom = new PromMetrics();
  const render = () => prom.render();
  // The console's fleet page reads this process's calls per minute from the same port.
  const rates = new CallRates(Date.now);
  const separate = options.on && options.port !== undefined;
  return {
    prom,
    deps: options.on
      ? {
          metrics: countingCalls(prom, rates),
          callRates: () => rates.lastHour(),
          // With a metrics port, the gateway's port has no /metrics of its own.
          ...(separate ? {} : { renderMetrics: render }),
        }
      : {},
    listen: async () =>
      separate
        ? listenMetrics({ render, token: config.METRICS_TOKEN, port: options.port ?? 0, hostname: options.hostname })
        : null,
  };
}
