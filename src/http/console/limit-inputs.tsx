// The number inputs of a limits form (a route's, an override's, a key's): one labelled input
// per field, with the least value the schemas take, so the browser refuses what the API would:
// a bucket's burst and a calls-in-flight cap hold at least 1, a rate, a cost or a daily count
// may be 0.

/** How a limits form names each field it may show. */
export const LIMIT_LABELS = {
  ratePerMinute: "Units per minute",
  burst: "Units burst",
  requestsPerMinute: "Requests per minute",
  requestBurst: "Request burst",
  maxConcurrent: "Max concurrent calls",
  dailyUnits: "Daily units",
  cost: "Cost per call (units)",
} as const;

const AT_LEAST_ONE = new Set(["burst", "requestBurst", "maxConcurrent"]);

export const limitMin = (field: string): "0" | "1" => (AT_LEAST_ONE.has(field) ? "1" : "0");

export function LimitInputs<F extends string>(props: {
  fields: readonly F[];
  labels: Record<F, string>;
  values: Record<F, string>;
}) {
  return (
    <>
      {props.fields.map((f) => (
        <label>
          {props.labels[f]} <input name={f} type="number" min={limitMin(f)} value={props.values[f]} />
        </label>
      ))}
    </>
  );
}
