#!/usr/bin/env node
// `aegis`: the operator CLI (see cli.ts for the commands).

import process from "node:process";
import { runCli } from "./cli";

const code = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
});
process.exitCode = code;
