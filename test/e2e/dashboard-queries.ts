// The PromQL of the Grafana dashboards in dashboards/, with Grafana's interval variables
// given the values a 1 s scrape interval calls for.

import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

const DASHBOARDS = path.resolve(import.meta.dirname, "../../dashboards");

/** Grafana's built-in interval variables, as Grafana would expand them here. */
const INTERVALS: Record<string, string> = { __rate_interval: "1m", __interval: "15s", __range: "5m" };

export function expandGrafanaVariables(expr: string): string {
  return expr.replace(/\$\{?(__rate_interval|__interval|__range)\}?/g, (_, name: string) => INTERVALS[name] ?? "");
}

interface Panel {
  title?: string;
  panels?: Panel[];
  targets?: { expr?: string }[];
}

export function prometheusQueries(): { panel: string; expr: string }[] {
  const out: { panel: string; expr: string }[] = [];
  const walk = (file: string, panels: Panel[] = []) => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        if (target.expr) out.push({ panel: `${file}: ${panel.title}`, expr: expandGrafanaVariables(target.expr) });
      }
      walk(file, panel.panels);
    }
  };
  for (const file of readdirSync(DASHBOARDS).filter((f) => f.endsWith(".json"))) {
    walk(file, (JSON.parse(readFileSync(path.join(DASHBOARDS, file), "utf8")) as { panels?: Panel[] }).panels);
  }
  return out;
}
