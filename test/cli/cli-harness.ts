// The CLI test files' harness: a self-hosted gateway (real Postgres and Redis) for the file,
// and the CLI run in-process against it, capturing what it prints.

import { afterAll, beforeAll } from "vitest";
import { runCli } from "../../src/cli/cli";
import { startTestGateway, type TestGateway } from "../support/test-gateway";

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

export interface CliHarness {
  /** The gateway, once beforeAll has started it. */
  gateway(): TestGateway;
  aegis(...argv: string[]): Promise<CliRun>;
  /** The command run as if the time were `now` (ms), for what depends on the day. */
  aegisAt(now: number, ...argv: string[]): Promise<CliRun>;
  /** The command with --json, parsed; throws when it does not exit 0. */
  json<T = Record<string, unknown>>(...argv: string[]): Promise<T>;
}

/** Starts a gateway before the file's tests and stops it after them. */
export function cliHarness(name: string, env: Record<string, string> = {}): CliHarness {
  let gateway: TestGateway | undefined;
  beforeAll(async () => {
    gateway = await startTestGateway(name, env);
  }, 60_000);
  afterAll(() => gateway?.stop());

  const started = () => {
    if (!gateway) throw new Error("the gateway is not started");
    return gateway;
  };
  async function aegisAt(now: number | undefined, ...argv: string[]): Promise<CliRun> {
    let out = "";
    let err = "";
    const g = started();
    const code = await runCli(argv, {
      env: { AEGIS_URL: g.url, AEGIS_ADMIN_TOKEN: g.token },
      stdout: (t) => {
        out += t;
      },
      stderr: (t) => {
        err += t;
      },
      ...(now === undefined ? {} : { now: () => now }),
    });
    return { code, out, err };
  }
  const aegis = (...argv: string[]) => aegisAt(undefined, ...argv);
  async function json<T = Record<string, unknown>>(...argv: string[]): Promise<T> {
    const r = await aegis(...argv, "--json");
    if (r.code !== 0) throw new Error(`aegis ${argv.join(" ")}: ${r.code} ${r.err}`);
    return JSON.parse(r.out) as T;
  }
  return { gateway: started, aegis, aegisAt, json };
}
