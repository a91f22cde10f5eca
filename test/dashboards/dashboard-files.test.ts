// The dashboards' files hold together: every panel queries its dashboard's data source
// variable, the provisioning files parse and name the data sources and the folder the
// dashboards need, and docs/observability.md's Prometheus, Compose and SQL snippets agree
// with them.

import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { DASHBOARDS_DIR, dashboardFiles, loadDashboard } from "../support/grafana-dashboard";

const ROOT = path.resolve(DASHBOARDS_DIR, "..");
const yamlFile = (file: string) => parse(readFileSync(path.join(DASHBOARDS_DIR, "provisioning", file), "utf8"));
const datasources = yamlFile("datasources/aegis.yaml") as {
  apiVersion: number;
  datasources: { name: string; type: string; uid: string; url: string; jsonData?: Record<string, unknown> }[];
};
const providers = yamlFile("dashboards/aegis.yaml") as {
  apiVersion: number;
  providers: { type: string; options: { path: string } }[];
};

/** The fenced yaml/sql blocks of docs/observability.md. */
const doc = readFileSync(path.join(ROOT, "docs", "observability.md"), "utf8");
const blocks = (lang: string) =>
  [...doc.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, "g"))].map((m) => m[1] ?? "");
const prometheusYml = parse(blocks("yaml").find((b) => b.includes("scrape_configs")) ?? "");
const compose = parse(blocks("yaml").find((b) => b.includes("services:")) ?? "") as {
  services: Record<string, { volumes: string[]; environment?: Record<string, string> }>;
};

/** A service's volumes as target -> source, sources relative to the repository (compose.yaml is in observability/). */
const mounts = (service: string) =>
  Object.fromEntries(
    (compose.services[service]?.volumes ?? []).map((v) => {
      const [source = "", target = ""] = v.split(":");
      return [target, path.relative(ROOT, path.resolve(ROOT, "observability", source))];
    }),
  );

describe.each(dashboardFiles())("%s", (file) => {
  const dashboard = loadDashboard(file);
  const variable = dashboard.templating.list.find((v) => v.type === "datasource");

  it("picks its data source with a variable of a provisioned type", () => {
    expect(variable?.query).toBeDefined();
    expect(datasources.datasources.filter((d) => d.type === variable?.query)).toHaveLength(1);
  });

  it("gives every panel that data source and at least one target on it, ids unique", () => {
    const ref = { type: variable?.query, uid: `\${${variable?.name}}` };
    expect(dashboard.panels.length).toBeGreaterThan(0);
    for (const panel of dashboard.panels) {
      expect(panel.datasource, panel.title).toEqual(ref);
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) expect(target.datasource, panel.title).toEqual(ref);
    }
    for (const v of dashboard.templating.list.filter((v) => v.type === "query")) expect(v.datasource).toEqual(ref);
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
  });
});

it("has dashboards of distinct uids", () => {
  const uids = dashboardFiles().map((f) => loadDashboard(f).uid);
  expect(uids.length).toBeGreaterThanOrEqual(2);
  expect(new Set(uids).size).toBe(uids.length);
});

it("provisions from files in Grafana's format, the dashboards from where docs/observability.md mounts dashboards/", () => {
  expect(datasources.apiVersion).toBe(1);
  expect(providers.apiVersion).toBe(1);
  const [provider] = providers.providers;
  expect(providers.providers).toHaveLength(1);
  expect(provider?.type).toBe("file");
  const grafana = mounts("grafana");
  expect(grafana[provider?.options.path ?? ""]).toBe("dashboards");
  for (const kind of ["datasources", "dashboards"]) {
    const source = grafana[`/etc/grafana/provisioning/${kind}`] ?? "";
    expect(source).toBe(`dashboards/provisioning/${kind}`);
    expect(existsSync(path.join(ROOT, source, "aegis.yaml"))).toBe(true);
  }
});

it("sets, in the Compose snippet, every variable the data sources read, the Prometheus one to its service", () => {
  // The $VARIABLES in the parsed values (comments are not read).
  const values = JSON.stringify(datasources);
  const used = [...new Set([...values.matchAll(/\$\{?(\w+)\}?/g)].map((m) => m[1]))].sort();
  const environment = compose.services.grafana?.environment ?? {};
  expect(used.length).toBeGreaterThan(0);
  expect(Object.keys(environment).sort()).toEqual(used);
  expect(environment.AEGIS_PROMETHEUS_URL).toBe("http://prometheus:9090");
  expect(Object.keys(compose.services)).toContain("prometheus");
});

it("scrapes /metrics with the token file the Compose snippet mounts, as often as the data source expects", () => {
  const [job] = prometheusYml.scrape_configs as { metrics_path: string; authorization: Record<string, string> }[];
  expect(job?.metrics_path).toBe("/metrics");
  expect(job?.authorization.type).toBe("Bearer");
  expect(mounts("prometheus")[job?.authorization.credentials_file ?? ""]).toBe("observability/metrics-token");
  const prometheus = datasources.datasources.find((d) => d.type === "prometheus");
  expect(prometheusYml.global.scrape_interval).toBe(prometheus?.jsonData?.timeInterval);
});

it("scrapes a Worker as one https target, with the token file the Compose snippet mounts", () => {
  const workers = blocks("yaml")
    .map((b) => parse(b) as { scrape_configs?: Record<string, unknown>[] })
    .flatMap((y) => y.scrape_configs ?? [])
    .filter((job) => job.scheme === "https");
  expect(workers).toHaveLength(1);
  const [job] = workers as {
    metrics_path: string;
    authorization: Record<string, string>;
    static_configs: { targets: string[] }[];
  }[];
  expect(job?.metrics_path).toBe("/metrics");
  expect(job?.authorization.type).toBe("Bearer");
  expect(mounts("prometheus")[job?.authorization.credentials_file ?? ""]).toBe("observability/metrics-token");
  expect(job?.static_configs.flatMap((c) => c.targets)).toHaveLength(1);
});

it("names every dashboard in docs/observability.md's table of files, and each Prometheus one with its runtime", () => {
  for (const file of dashboardFiles()) expect(doc, file).toContain(`| \`dashboards/${file}\` |`);
  const runtimes = doc.split("\n").filter((line) => /^\| (self-hosted|Workers)\b/.test(line));
  expect(runtimes).toHaveLength(2);
  expect(runtimes[0]).toContain("`aegis-fleet.json`");
  expect(runtimes[1]).toContain("`aegis-workers.json`");
});

it("grants the Grafana role SELECT on every table the tenant dashboard reads", () => {
  const tenant = loadDashboard("aegis-tenant.json");
  const sql = [
    ...tenant.panels.flatMap((p) => (p.targets ?? []).map((t) => t.rawSql ?? "")),
    ...tenant.templating.list.map((v) => (v.type === "query" ? (v.query ?? "") : "")),
  ].join("\n");
  const tables = [...new Set([...sql.matchAll(/\b(?:FROM|JOIN)\s+(?!LATERAL\b)(\w+)/g)].map((m) => m[1]))].sort();
  const grant = /GRANT SELECT ON ([\w, ]+) TO/.exec(blocks("sql").join("\n"))?.[1] ?? "";
  expect(tables).toEqual(
    grant
      .split(",")
      .map((t) => t.trim())
      .sort(),
  );
});
