// `npm test`'s last step: vitest with the arguments given (`npm test -- test/billing` runs
// those files), on an emptied console log, then scripts/check-test-logs.ts over what the run
// logged. Exits with vitest's code when it fails, else with the check's.

import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";

mkdirSync("test-artifacts", { recursive: true });
writeFileSync("test-artifacts/console.log", "");
const run = (args: string[]) => spawnSync(process.execPath, args, { stdio: "inherit" }).status ?? 1;
const vitest = run(["node_modules/vitest/vitest.mjs", "run", ...process.argv.slice(2)]);
if (vitest !== 0) process.exit(vitest);
process.exit(run(["--import", "tsx", "scripts/check-test-logs.ts"]));
