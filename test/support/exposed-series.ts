// A scrape's series as the dashboard tests read them, and what a dashboard's PromQL names
// that a scrape does not have. Nothing here reads files or the network: the self-hosted
// tests (Node) and the Worker's (workerd) check their dashboards with the same rules.

import { promqlReferences } from "./promql-references";

export interface ExposedSeries {
  name: string;
  labels: Record<string, string>;
}

/**
 * Every sample line of an exposition, as the text format writes it: `name{label="value",...} value`.
 * The dashboards' check needs each sample's own name and labels (a histogram's `_bucket`
 * with `le` and `route`); parse-prometheus-text-format folds a histogram's lines into one
 * sample and drops their labels, so this reads the lines themselves.
 */
export function exposedSeries(text: string): ExposedSeries[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.startsWith("#"))
    .map((line) => {
      const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] ?? "";
      const braces = line.startsWith("{", name.length) ? line.slice(name.length + 1, line.lastIndexOf("}")) : "";
      const labels: Record<string, string> = {};
      for (const m of braces.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
        labels[m[1] as string] = JSON.parse(`"${m[2]}"`) as string;
      return { name, labels };
    });
}

/** A `=~` value that is only literal names joined by `|`: each of them is a value the query expects. */
const ALTERNATIVES = /^[\w:.-]+(?:\|[\w:.-]+)+$/;

/**
 * What `expr` names that `series` lacks, one line each: a metric name no sample has; a
 * `=` matcher's value, or each name of a `=~ "a|b"` list (another regex: at least one
 * value it matches), that no sample of the metric has for that label; a `by (...)` label
 * the metrics it aggregates lack. `!=` and `!~` are not checked: they match a series
 * whatever values the scrape holds. Empty when the scrape has everything.
 */
export function missingFromScrape(expr: string, series: ExposedSeries[]): string[] {
  const refs = promqlReferences(expr);
  const missing: string[] = [];
  for (const selector of refs.selectors) {
    const named = series.filter((s) => s.name === selector.name);
    if (named.length === 0) {
      missing.push(`no ${selector.name} in the scrape`);
      continue;
    }
    for (const m of selector.matchers) {
      const values = new Set(named.flatMap((s) => (m.label in s.labels ? [s.labels[m.label] as string] : [])));
      if (m.op === "=" && !values.has(m.value)) missing.push(`${selector.name}{${m.label}="${m.value}"}`);
      if (m.op !== "=~") continue;
      if (ALTERNATIVES.test(m.value)) {
        for (const value of m.value.split("|"))
          if (!values.has(value)) missing.push(`${selector.name}{${m.label}="${value}"} (of =~"${m.value}")`);
      } else {
        const regex = new RegExp(`^(?:${m.value})$`);
        if (![...values].some((v) => regex.test(v))) missing.push(`${selector.name}{${m.label}=~"${m.value}"}`);
      }
    }
  }
  for (const { labels, names } of refs.groupings)
    for (const name of names)
      for (const label of labels)
        if (!series.some((s) => s.name === name && label in s.labels)) missing.push(`${name} has no ${label} label`);
  return missing;
}
