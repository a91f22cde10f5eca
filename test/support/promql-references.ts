// What a PromQL expression refers to, read with the Prometheus project's own grammar
// (@prometheus-io/lezer-promql): its syntax errors, its selectors' metric names and label
// matchers, and the labels its `by (...)` clauses group by.

import { parser } from "@prometheus-io/lezer-promql";

type SyntaxNode = ReturnType<typeof parser.parse>["topNode"];

export interface Matcher {
  label: string;
  op: "=" | "!=" | "=~" | "!~";
  value: string;
}

export interface Selector {
  /** The metric name: the identifier before `{`, or a `__name__="..."` matcher's value. */
  name: string;
  matchers: Matcher[];
}

export interface PromQLReferences {
  /** The text at each place the parser could not read (empty when it parsed whole). */
  errors: string[];
  selectors: Selector[];
  /** Each `by (...)` clause's labels, with the metric names inside its aggregation. */
  groupings: { labels: string[]; names: string[] }[];
}

/** A PromQL string literal's value: "..." and '...' take escapes, `...` does not. */
function literal(text: string): string {
  if (text.startsWith("`")) return text.slice(1, -1);
  if (text.startsWith("'")) return JSON.parse(`"${text.slice(1, -1).replaceAll('"', '\\"').replaceAll("\\'", "'")}"`);
  return JSON.parse(text) as string;
}

export function promqlReferences(expr: string): PromQLReferences {
  const tree = parser.parse(expr);
  const text = (node: SyntaxNode) => expr.slice(node.from, node.to);
  const errors: string[] = [];
  const selectors: Selector[] = [];
  const groupings: PromQLReferences["groupings"] = [];

  const selectorOf = (node: SyntaxNode): Selector => {
    const matchers: Matcher[] = node.getChildren("LabelMatchers").flatMap((list) =>
      list.getChildren("UnquotedLabelMatcher").map((m) => ({
        label: text(m.getChild("LabelName") as SyntaxNode),
        op: text(m.getChild("MatchOp") as SyntaxNode) as Matcher["op"],
        value: literal(text(m.getChild("StringLiteral") as SyntaxNode)),
      })),
    );
    const identifier = node.getChild("Identifier");
    const byName = matchers.find((m) => m.label === "__name__" && m.op === "=");
    return {
      name: identifier ? text(identifier) : (byName?.value ?? ""),
      matchers: matchers.filter((m) => m.label !== "__name__"),
    };
  };

  tree.iterate({
    enter(ref) {
      if (ref.type.isError) errors.push(`at ${ref.from}: ${JSON.stringify(expr.slice(ref.from, ref.from + 20))}`);
      if (ref.name === "VectorSelector") selectors.push(selectorOf(ref.node));
      if (ref.name === "AggregateExpr") {
        const modifier = ref.node.getChild("AggregateModifier");
        if (!modifier?.getChild("By")) return;
        const labels = (modifier.getChild("GroupingLabels")?.getChildren("LabelName") ?? []).map(text);
        const names: string[] = [];
        ref.node
          .getChild("FunctionCallBody")
          ?.cursor()
          .iterate((inner) => {
            if (inner.name === "VectorSelector") names.push(selectorOf(inner.node).name);
          });
        groupings.push({ labels, names });
      }
    },
  });
  return { errors, selectors, groupings };
}
