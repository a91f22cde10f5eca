// bench:redis's printing: one line per contender run, the per-round ratios, and the summary
// (medians of the rounds, the ratios against issue 18's targets, Redis CPU per decision).

import { median } from "../stats";

export interface Sample {
  perSecond: number;
  p50Ms: number | null;
  p99Ms: number | null;
  /** CPU per decision of this process (null: the load came from redis-benchmark) and of Redis, in µs. */
  nodeUs: number | null;
  redisUs: number;
  note: string;
}

/** The headline contenders' names, as in the table. */
export interface Headline {
  ours: string;
  rlf: string;
  equalWork: string;
  evalsha: string;
  /** Ours in lease mode (issue 18), unless left out. */
  leased?: string;
}

/** Ours over each other headline contender, one entry per round. */
export interface Ratios {
  vsRlf: number[];
  vsEqualWork: number[];
  vsEvalsha: number[];
  /** Ours in lease mode over rlf. */
  leasedVsRlf: number[];
}

// Issue 18's targets for ours.
const TARGET_VS_RLF = 0.8;
const TARGET_VS_EQUAL_WORK = 1.5;
const TARGET_VS_EVALSHA = 0.5;
const TARGET_LEASED_VS_RLF = 5;

export const fmtRate = (n: number) => Math.round(n).toLocaleString("en-US");
const fmtMs = (n: number | null) => (n === null ? "-" : n.toFixed(2));
const fmtUs = (n: number | null) => (n === null ? "-" : n.toFixed(1));
const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
const x2 = (r: number) => `${r.toFixed(2)}x`;

export function printRun(round: number, name: string, s: Sample): void {
  console.log(
    `round ${round}  ${name.padEnd(54)} ${fmtRate(s.perSecond).padStart(7)}/s  p50 ${fmtMs(s.p50Ms).padStart(5)} ms  p99 ${fmtMs(s.p99Ms).padStart(5)} ms  CPU/call node ${fmtUs(s.nodeUs).padStart(5)} redis ${fmtUs(s.redisUs).padStart(5)} µs  ${s.note}`,
  );
}

/** Adds this round's ratios and prints them. */
export function addRound(round: number, got: Map<string, Sample>, h: Headline, ratios: Ratios): void {
  const rate = (name: string) => got.get(name)?.perSecond ?? Number.NaN;
  const o = rate(h.ours);
  ratios.vsRlf.push(o / rate(h.rlf));
  ratios.vsEqualWork.push(o / rate(h.equalWork));
  ratios.vsEvalsha.push(o / rate(h.evalsha));
  if (h.leased) ratios.leasedVsRlf.push(rate(h.leased) / rate(h.rlf));
  const leased = h.leased ? `, leased/rlf ${x2(ratios.leasedVsRlf.at(-1) ?? 0)}` : "";
  console.log(
    `round ${round}  ours/rlf ${x2(ratios.vsRlf.at(-1) ?? 0)}, ours/rlf equal work ${x2(ratios.vsEqualWork.at(-1) ?? 0)}, ours/EVALSHA ${pct(ratios.vsEvalsha.at(-1) ?? 0)}${leased}`,
  );
}

export interface Summary {
  rounds: number;
  inFlight: number;
  names: string[];
  samples: Map<string, Sample[]>;
  headline: Headline;
  ratios: Ratios;
  evalshaCommand: string;
}

export function printSummary({ rounds, inFlight, names, samples, headline: h, ratios, evalshaCommand }: Summary): void {
  const med = (name: string, f: (s: Sample) => number | null) => {
    const xs = (samples.get(name) ?? []).map(f).filter((x): x is number => x !== null);
    return xs.length ? median(xs) : null;
  };
  console.log(
    `\nMedians of ${rounds} rounds (decisions/s; latency per call, start to answer, with ${inFlight} in flight).`,
  );
  console.log("| contender | decisions/s | range | p50 ms | p99 ms | node CPU µs/call | Redis CPU µs/call |");
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  for (const name of names) {
    const rates = (samples.get(name) ?? []).map((s) => s.perSecond);
    console.log(
      `| ${name} | ${fmtRate(med(name, (s) => s.perSecond) ?? 0)} | ${fmtRate(Math.min(...rates))}–${fmtRate(Math.max(...rates))} | ${fmtMs(med(name, (s) => s.p50Ms))} | ${fmtMs(med(name, (s) => s.p99Ms))} | ${fmtUs(med(name, (s) => s.nodeUs))} | ${fmtUs(med(name, (s) => s.redisUs))} |`,
    );
  }

  const vsRlf = median(ratios.vsRlf);
  const vsEqualWork = median(ratios.vsEqualWork);
  const vsEvalsha = median(ratios.vsEvalsha);
  const verdict = (ok: boolean) => (ok ? "PASS" : "MISS");
  const list = (xs: number[]) => xs.map((r) => r.toFixed(2)).join(", ");
  console.log(
    `\nRatios: medians of the per-round ratios (${list(ratios.vsRlf)} vs rlf; ${list(ratios.vsEqualWork)} vs rlf equal work).`,
  );
  console.log(
    `${verdict(vsRlf >= TARGET_VS_RLF)}  ours / rate-limiter-flexible = ${x2(vsRlf)}   (target >= ${x2(TARGET_VS_RLF)}; rlf does one counter, ours key check + request and units buckets + daily quota + outbox XADD)`,
  );
  console.log(
    `${verdict(vsEqualWork >= TARGET_VS_EQUAL_WORK)}  ours / rlf equal work       = ${x2(vsEqualWork)}   (target >= ${x2(TARGET_VS_EQUAL_WORK)})`,
  );
  console.log(
    `${verdict(vsEvalsha >= TARGET_VS_EVALSHA)}  ours / EVALSHA limit        = ${pct(vsEvalsha)}   (target >= ${pct(TARGET_VS_EVALSHA)})`,
  );
  if (ratios.leasedVsRlf.length > 0) {
    const leasedVsRlf = median(ratios.leasedVsRlf);
    console.log(
      `${verdict(leasedVsRlf >= TARGET_LEASED_VS_RLF)}  ours leased / rlf           = ${x2(leasedVsRlf)}   (target >= ${x2(TARGET_LEASED_VS_RLF)}; the same work, admitted from leases one process holds)`,
    );
  }
  // Redis runs scripts on one thread: its CPU per call bounds a contender even with a free client.
  const redisUs = (name: string) => med(name, (s) => s.redisUs) ?? Number.NaN;
  console.log(
    `Redis CPU per decision: ours ${fmtUs(redisUs(h.ours))} µs, rlf ${fmtUs(redisUs(h.rlf))} µs, rlf equal work ${fmtUs(redisUs(h.equalWork))} µs, EVALSHA ${fmtUs(redisUs(h.evalsha))} µs; so with an idle client ours would top out near ${pct(redisUs(h.evalsha) / redisUs(h.ours))} of the EVALSHA limit.`,
  );
  console.log(
    `\nEVALSHA limit: ${evalshaCommand}  (after SCRIPT LOAD "return 1"; ${inFlight} connections, 1 command each in flight)`,
  );
}
