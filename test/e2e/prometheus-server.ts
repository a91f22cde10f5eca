// A Prometheus server for the end-to-end check: Debian's `prometheus` binary (PROMETHEUS_BIN
// overrides), with a data directory and a config of its own, scraping one target every
// second with a bearer token, on a free loopback port. `query` asks its HTTP API.

import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "../../scripts/lib/free-port";
import { until } from "../support/wait";

export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface PrometheusServer {
  url: string;
  /** An instant query; fails unless Prometheus answers `success`. */
  query(promql: string): Promise<PromSample[]>;
  stop(): Promise<void>;
}

export async function startPrometheus(target: { url: string; token: string }): Promise<PrometheusServer> {
  const dir = mkdtempSync(path.join(tmpdir(), "aegis-prometheus-"));
  const scraped = new URL(target.url);
  const config = path.join(dir, "prometheus.yml");
  // JSON is YAML: no quoting rules to get wrong.
  writeFileSync(
    config,
    JSON.stringify({
      global: { scrape_interval: "1s", evaluation_interval: "1s" },
      scrape_configs: [
        {
          job_name: "aegis",
          metrics_path: scraped.pathname,
          authorization: { type: "Bearer", credentials: target.token },
          static_configs: [{ targets: [scraped.host] }],
        },
      ],
    }),
  );
  const port = await freePort();
  const bin = process.env.PROMETHEUS_BIN ?? "prometheus";
  const child: ChildProcess = spawn(
    bin,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", "inherit", "inherit"] },
  );
  const exited = new Promise<string>((resolve) => {
    child.once("error", (err) => resolve(`could not run ${bin}: ${err.message} (install Debian's prometheus package)`));
    child.once("exit", (code) => resolve(`${bin} exited with ${code}`));
  });
  let failure: string | null = null;
  void exited.then((why) => {
    failure = why;
  });
  const url = `http://127.0.0.1:${port}`;
  await until(
    "Prometheus to be ready",
    async () => {
      if (failure) throw new Error(failure);
      return fetch(`${url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      );
    },
    30_000,
  );
  return {
    url,
    async query(promql) {
      const res = await fetch(`${url}/api/v1/query?${new URLSearchParams({ query: promql })}`);
      const body = (await res.json()) as { status: string; error?: string; data?: { result: PromSample[] } };
      if (body.status !== "success") throw new Error(`Prometheus refused ${promql}: ${body.error}`);
      return body.data?.result ?? [];
    },
    async stop() {
      if (!failure) {
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
