// The dashboards in dashboards/ as the tests read them from disk; what is read from each
// (panels, queries, Grafana's variables) is in dashboard-queries.ts.

import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Dashboard } from "./dashboard-queries";

export * from "./dashboard-queries";

export const DASHBOARDS_DIR = path.join(import.meta.dirname, "..", "..", "dashboards");

/** Every dashboard JSON file in dashboards/, by file name. */
export function dashboardFiles(): string[] {
  return readdirSync(DASHBOARDS_DIR).filter((f) => f.endsWith(".json"));
}

export function loadDashboard(file: string): Dashboard {
  return JSON.parse(readFileSync(path.join(DASHBOARDS_DIR, file), "utf8")) as Dashboard;
}
