// A Grafana dashboard's queries as the tests read them, and a small expander of the Grafana
// variables and macros they use, so a query can run outside Grafana. Nothing here reads
// files: the workerd tests import it with the dashboard's JSON.
//
// The expander does what Grafana does for these cases, and fails on anything else:
// - PromQL: $__rate_interval, $__interval and $__range become durations (Grafana picks them
//   from the scrape interval and the time range; any valid duration parses the same way).
// - SQL (the PostgreSQL data source's macros): $__timeFilter(col) becomes
//   `col BETWEEN '<from>' AND '<to>'`, $__timeFrom() and $__timeTo() the quoted instants,
//   RFC 3339 in UTC to the second, as Grafana writes them.
// - Variables ($name, ${name}, [[name]]) of a single value are put in as they are, with a
//   single quote doubled: what Grafana's SQL data sources do for a variable that is neither
//   multi-value nor "include all" (the dashboards quote them: '$tenant').

export interface DataSourceRef {
  type: string;
  uid: string;
}

export interface Target {
  refId: string;
  datasource?: DataSourceRef;
  expr?: string;
  rawSql?: string;
  format?: string;
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: DataSourceRef;
  targets?: Target[];
  /** A row's panels, when it is collapsed. */
  panels?: Panel[];
}

export interface Variable {
  name: string;
  type: string;
  query?: string;
  datasource?: DataSourceRef;
}

export interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Variable[] };
}

/** The panel's title with a target's refId, to name a query in a failure. */
export const where = (panel: Panel, target: Target) => `${panel.title} (${target.refId})`;

/** Every panel's targets, with their panel, the panels of collapsed rows included. */
export function targetsOf(dashboard: Pick<Dashboard, "panels">): { panel: Panel; target: Target }[] {
  return dashboard.panels.flatMap((panel) => [
    ...(panel.targets ?? []).map((target) => ({ panel, target })),
    ...targetsOf({ panels: panel.panels ?? [] }),
  ]);
}

const PROMQL_INTERVALS: Record<string, string> = {
  __rate_interval: "1m",
  __interval: "15s",
  __range: "6h",
};

/** A PromQL expression with Grafana's interval variables put in. */
export function expandPromQL(expr: string): string {
  return expandVariables(expr, PROMQL_INTERVALS);
}

/** Grafana writes instants in macros to the second: 2031-01-05T10:00:00Z. */
const instant = (ms: number) => `'${new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z")}'`;

/** A SQL query with the time range's macros and the single-value variables put in. */
export function expandSql(query: string, range: { from: number; to: number }, vars: Record<string, string>): string {
  const timed = query
    .replace(/\$__timeFilter\(([^)]+)\)/g, (_, column: string) => {
      return `${column.trim()} BETWEEN ${instant(range.from)} AND ${instant(range.to)}`;
    })
    .replace(/\$__timeFrom\(\)/g, instant(range.from))
    .replace(/\$__timeTo\(\)/g, instant(range.to));
  const escaped = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, v.replaceAll("'", "''")]));
  return expandVariables(timed, escaped);
}

function expandVariables(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\{(\w+)\}|\[\[(\w+)\]\]|\$(\w+)/g, (match, braced, bracketed, bare) => {
    const name = (braced ?? bracketed ?? bare) as string;
    const value = vars[name];
    if (value === undefined) throw new Error(`no value for the Grafana variable or macro ${match} in: ${text}`);
    return value;
  });
}
