// Printing a CPU profile's summary for bench:profile: Markdown tables of the samples by
// kind, function, file and native call, with estimated microseconds a call.

import { type ProfileSummary, table } from "./cpu-profile";

export const pct = (x: number, of: number) => `${((x / Math.max(1, of)) * 100).toFixed(1)}%`;

export function report(route: string, title: string, s: ProfileSummary, calls: number, top: number): void {
  console.log(`\n### ${route}: isolate "${title}": ${s.samples} samples over ${s.durationMs.toFixed(0)} ms`);
  if (s.samples === 0) {
    console.log("(the profile holds no samples)");
    return;
  }
  // us a call: samples x the median interval (see ProfileSummary.medianIntervalUs), per call.
  const us = s.medianIntervalUs / Math.max(1, calls);
  const idle = s.special["(idle)"] ?? 0;
  const outside = Object.values(s.special).reduce((a, b) => a + b, 0);
  const sampledMs = (s.samples * s.medianIntervalUs) / 1000;
  console.log(
    `${calls} calls; median sample interval ${s.medianIntervalUs.toFixed(0)} us, so ~${sampledMs.toFixed(0)} ms sampled in the isolate (${pct(sampledMs, s.durationMs)} of the wall time); not idle: ${((s.samples - idle) * us).toFixed(0)} us a call`,
  );
  console.log("\nSamples outside JavaScript, and JavaScript by who is on the stack:");
  console.log("| kind | samples | share | us/call |\n|---|---:|---:|---:|");
  const line = (k: string, v: number) => console.log(`| ${k} | ${v} | ${pct(v, s.samples)} | ${(v * us).toFixed(1)} |`);
  for (const [k, v] of Object.entries(s.special).sort((a, b) => b[1] - a[1])) line(k, v);
  line("JavaScript (incl. native calls from it)", s.samples - outside);
  for (const [k, v] of Object.entries(s.roles).sort((a, b) => b[1] - a[1])) line(`- ${k}`, v);
  console.log(`\nTop ${top} functions by self time:`);
  console.log(table(s.functions, s.samples, "self", top, "function", us));
  console.log(`\nTop ${top} functions by total (inclusive) time:`);
  console.log(table(s.functions, s.samples, "total", top, "function", us));
  console.log("\nBy source file (self: the file's own frames; total: the file anywhere on the stack):");
  console.log(table(s.files, s.samples, "self", top, "file", us));
  console.log("\nBy source file, with native calls' self time given to their JavaScript caller:");
  console.log(table(s.filesWithNatives, s.samples, "self", top, "file", us));
  console.log("\nNative functions' self time by their JavaScript caller:");
  console.log("| native <- caller | self | self % | us/call |\n|---|---:|---:|---:|");
  for (const r of s.nativeCallers.slice(0, top)) {
    console.log(`| ${r.key} | ${r.self} | ${pct(r.self, s.samples)} | ${(r.self * us).toFixed(1)} |`);
  }
}
