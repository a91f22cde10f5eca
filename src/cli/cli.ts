// The `aegis` operator CLI, as a function of its arguments and streams so that tests run it
// in-process. Exit codes: 0 done, 1 the gateway refused or could not be reached, 2 misuse.

import { parseArgs } from "node:util";
import { AegisAdmin, AegisError, HTTPError, NetworkError, TimeoutError } from "../client/index";
import { commands } from "./commands";
import { UsageError } from "./flags";
import { describeUnreachable } from "./unreachable";
import { commandFlags, USAGE, usageLines } from "./usage";

export { USAGE } from "./usage";

export interface CliIo {
  env: Record<string, string | undefined>;
  stdout(text: string): void;
  stderr(text: string): void;
  fetch?: (request: Request) => Promise<Response>;
  /** The clock (ms), for what depends on the day, such as `tenants get`'s usage; default Date.now. */
  now?: () => number;
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  // Loosely first, to know the command whose usage line a mistake is shown with.
  const loose = parseLoosely(argv);
  const two = loose.positionals.slice(0, 2).join(" ");
  const name = commands[two] ? two : (loose.positionals[0] ?? "");
  const command = commands[name];
  const misuse = (message: string) => {
    const line = command ? usageLines(name) : "";
    io.stderr(`aegis: ${message}\n${line ? `usage: aegis ${line}` : USAGE}\n`);
    return 2;
  };
  if (loose.values.help === true) {
    io.stdout(`${USAGE}\n`);
    return 0;
  }
  if (loose.positionals.length === 0) {
    io.stderr(`${USAGE}\n`);
    return 2;
  }
  if (!command) return misuse(`unknown command "${loose.positionals.join(" ")}"`);
  const known = commandFlags(name);
  const unknown = Object.keys(loose.values).filter((f) => !known.has(f));
  if (unknown.length > 0) return misuse(`${name} takes no ${unknown.map((f) => `--${f}`).join(", ")}`);
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    // node:util's words for a flag without its value, shorter.
    const text = err instanceof Error ? err.message : String(err);
    const missing = /^Option '(--[a-z-]+)[^']*' argument missing/.exec(text);
    return misuse(missing ? `${name}: ${missing[1]} needs a value` : text);
  }
  const { positionals, values } = parsed;
  const baseUrl = (values.url as string | undefined) ?? io.env.AEGIS_URL;
  const token = (values.token as string | undefined) ?? io.env.AEGIS_ADMIN_TOKEN;
  if (!baseUrl || !token) {
    io.stderr("aegis: set the gateway and the operator token: --url and --token, or AEGIS_URL and AEGIS_ADMIN_TOKEN\n");
    return 2;
  }
  const json = values.json === true;
  let admin: AegisAdmin;
  try {
    admin = new AegisAdmin({ baseUrl, token, fetch: io.fetch, timeoutMs: 30_000 });
  } catch (err) {
    io.stderr(`aegis: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  try {
    const args = positionals.slice(name.split(" ").length);
    const out = await command(admin, args, values, (io.now ?? Date.now)());
    io.stdout(`${json ? JSON.stringify(out.json, null, 2) : out.text}\n`);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      return misuse(err.message.startsWith(name) ? err.message : `${name}: ${err.message}`);
    }
    if (json && err instanceof HTTPError) {
      io.stderr(`${JSON.stringify({ error: err.problem }, null, 2)}\n`);
      return 1;
    }
    if (err instanceof HTTPError) {
      io.stderr(describeProblem(err));
      return 1;
    }
    if (err instanceof NetworkError || err instanceof TimeoutError) {
      io.stderr(`aegis: ${describeUnreachable(err, baseUrl)}\n`);
      return 1;
    }
    if (err instanceof AegisError) {
      io.stderr(`aegis: ${err.message}\n`);
      return 1;
    }
    // Anything else is an answer this CLI did not expect (not a gateway at that URL?).
    io.stderr(`aegis: unexpected answer from ${baseUrl}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

/**
 * A refusal, one line. A problem that lists its errors with their places says each: on that
 * line when there is one, else one line each, which a long price book's problems need.
 */
function describeProblem(err: HTTPError): string {
  const head = `aegis: ${err.status} ${err.problem.code}`;
  const errors = Array.isArray(err.problem.errors) ? (err.problem.errors as unknown[]) : [];
  const listed = errors
    .filter(
      (e): e is { path: string; message: string } =>
        typeof e === "object" &&
        e !== null &&
        typeof (e as { path?: unknown }).path === "string" &&
        typeof (e as { message?: unknown }).message === "string",
    )
    .map((e) => `${e.path || "(the body)"}: ${e.message}`);
  if (listed.length === 0) return `${head}: ${err.problem.detail}\n`;
  if (listed.length === 1) return `${head}: ${listed[0]}\n`;
  return `${head}: ${listed.length} problems:\n${listed.map((line) => `  ${line}\n`).join("")}`;
}

const OPTIONS = {
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  url: { type: "string" },
  token: { type: "string" },
  name: { type: "string" },
  rate: { type: "string" },
  burst: { type: "string" },
  rpm: { type: "string" },
  "request-burst": { type: "string" },
  "max-concurrent": { type: "string" },
  clear: { type: "boolean" },
  daily: { type: "string" },
  tz: { type: "string" },
  shadow: { type: "string" },
  leases: { type: "string" },
  "unit-price": { type: "string" },
  alerts: { type: "string" },
  until: { type: "string" },
  limit: { type: "string" },
  cursor: { type: "string" },
  from: { type: "string" },
  to: { type: "string" },
  status: { type: "string" },
  tenant: { type: "string" },
  "payment-method": { type: "string" },
  "billing-account": { type: "string" },
  cost: { type: "string" },
  file: { type: "string" },
  model: { type: "string" },
  dimension: { type: "string" },
  price: { type: "string" },
  tier: { type: "string", multiple: true },
} as const;

const parse = (argv: string[]) => parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });

/** Any flag is taken (an unknown one as a switch), to find the command before judging its flags. */
const parseLoosely = (argv: string[]) =>
  parseArgs({ args: argv, allowPositionals: true, strict: false, options: OPTIONS });
