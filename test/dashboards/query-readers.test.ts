// The tests' readers of the dashboards' queries: the PromQL reader reports what the grammar
// could not parse and what an expression names; the Grafana expander puts in what Grafana
// would, and refuses what it does not know.

import { describe, expect, it } from "vitest";
import { exposedSeries, missingFromScrape } from "../support/exposed-series";
import { expandPromQL, expandSql, targetsOf } from "../support/grafana-dashboard";
import { promqlReferences } from "../support/promql-references";

describe("promqlReferences", () => {
  it("reports a syntax error, and none for a whole expression", () => {
    expect(promqlReferences("sum(rate(aegis_calls_total[1m])").errors).not.toEqual([]);
    expect(promqlReferences("sum by (outcome) (rate(aegis_calls_total[1m]))").errors).toEqual([]);
  });

  it("names a selector's metric from its identifier or a __name__ matcher, with its other matchers", () => {
    expect(promqlReferences('a_total{x="1"} / {__name__="b_total", y=~"p|q", z!="2"}').selectors).toEqual([
      { name: "a_total", matchers: [{ label: "x", op: "=", value: "1" }] },
      {
        name: "b_total",
        matchers: [
          { label: "y", op: "=~", value: "p|q" },
          { label: "z", op: "!=", value: "2" },
        ],
      },
    ]);
  });

  it("reads a by clause's labels with the metrics it aggregates, and not a without clause's", () => {
    const refs = promqlReferences(
      "histogram_quantile(0.99, sum by (le, route) (rate(h_bucket[5m]))) + sum without (kind) (e_total)",
    );
    expect(refs.groupings).toEqual([{ labels: ["le", "route"], names: ["h_bucket"] }]);
  });
});

describe("missingFromScrape", () => {
  const series = exposedSeries(
    [
      "# HELP d Deliveries.",
      'd{status="pending"} 1',
      'd{status="failed"} 0',
      'u{tenant="t1",dimension="units"} 5',
      "n 3",
    ].join("\n"),
  );

  it("finds nothing missing when the scrape has every name, value and grouping label", () => {
    expect(exposedSeries('h_bucket{le="+Inf",route="chat"} 2')).toEqual([
      { name: "h_bucket", labels: { le: "+Inf", route: "chat" } },
    ]);
    expect(
      missingFromScrape('sum by (status) (d{status=~"pending|failed"}) + n + sum(u{tenant!="_other"})', series),
    ).toEqual([]);
    expect(missingFromScrape('max(u{tenant=~"t.*", dimension="units"})', series)).toEqual([]);
  });

  it("names a metric, a value, each value of a list and a grouping label the scrape lacks", () => {
    expect(missingFromScrape("max(gone)", series)).toEqual(["no gone in the scrape"]);
    expect(missingFromScrape('d{status="delivered"}', series)).toEqual(['d{status="delivered"}']);
    expect(missingFromScrape('d{status=~"pending|disabled"}', series)).toEqual([
      'd{status="disabled"} (of =~"pending|disabled")',
    ]);
    expect(missingFromScrape('d{status=~"del.*"}', series)).toEqual(['d{status=~"del.*"}']);
    expect(missingFromScrape("sum by (model) (u)", series)).toEqual(["u has no model label"]);
  });
});

describe("Grafana's variables and macros", () => {
  const range = { from: Date.parse("2031-01-05T10:00:00.250Z"), to: Date.parse("2031-01-06T11:30:00Z") };

  it("puts an interval into PromQL", () => {
    expect(expandPromQL("rate(a_total[$__rate_interval]) + increase(b_total[$__range])")).toBe(
      "rate(a_total[1m]) + increase(b_total[6h])",
    );
  });

  it("expands the time macros as Grafana's PostgreSQL data source does, to the second", () => {
    expect(expandSql("WHERE $__timeFilter(d.day) AND x < $__timeTo() AND y > $__timeFrom()", range, {})).toBe(
      "WHERE d.day BETWEEN '2031-01-05T10:00:00Z' AND '2031-01-06T11:30:00Z' AND x < '2031-01-06T11:30:00Z' AND y > '2031-01-05T10:00:00Z'",
    );
  });

  it("puts in a single-value variable in every syntax, its quotes doubled", () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's ${name} syntax, not a template.
    expect(expandSql("'$t' '${t}' '[[t]]'", range, { t: "O'Hara" })).toBe("'O''Hara' 'O''Hara' 'O''Hara'");
  });

  it("refuses a variable or macro it has no value for", () => {
    expect(() => expandSql("WHERE id = '$other'", range, { t: "x" })).toThrow(/\$other/);
    expect(() => expandSql("SELECT $__timeGroup(day, '1h')", range, {})).toThrow(/__timeGroup/);
    expect(() => expandPromQL("rate(a_total[$__step])")).toThrow(/__step/);
  });
});

describe("targetsOf", () => {
  it("finds the targets of panels inside a collapsed row too", () => {
    const target = (refId: string) => ({ refId, expr: "up" });
    const found = targetsOf({
      panels: [
        { id: 1, type: "timeseries", title: "top", targets: [target("A")] },
        {
          id: 2,
          type: "row",
          title: "collapsed",
          panels: [{ id: 3, type: "stat", title: "inside", targets: [target("B")] }],
        },
      ],
    });
    expect(found.map(({ panel, target }) => `${panel.title}/${target.refId}`)).toEqual(["top/A", "inside/B"]);
  });
});
