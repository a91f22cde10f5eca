// The `aegis` operator CLI, as a function of its arguments and streams so that tests run it
// in-process. Exit codes: 0 done, 1 the gateway refused or could not be reached, 2 misuse.

import { parseArgs } from "node:util";
import { AegisAdmin, AegisError, HTTPError } from "../client/index";
import { commands } from "./commands";
import { UsageError } from "./flags";

export const USAGE = `usage: aegis <command> [args] [--json] [--url URL] [--token TOKEN]

  tenants create --name NAME [--payment-method REF] [QUOTA FLAGS]
                                                 (what is not given: the gateway's default)
  tenants list [--limit N] [--cursor C]
  tenants get TENANT
  tenants update TENANT [--name NAME] [--payment-method REF|none]
  tenants suspend TENANT
  tenants activate TENANT
  quotas set TENANT QUOTA FLAGS                  (what is not given stays as it is)
  overrides set TENANT --until WHEN LIMIT FLAGS  (until WHEN: ISO 8601, or +90m, +6h, +2d)
  overrides clear TENANT                         (the quota applies again now)
  keys create TENANT [--name NAME] [KEY LIMIT FLAGS]
  keys limits TENANT KEY (KEY LIMIT FLAGS | --clear)   (what is not given stays as it is)
  keys list TENANT
  keys revoke TENANT KEY
  usage TENANT [--from YYYY-MM-DD] [--to YYYY-MM-DD]
  invoices list [--status draft|issued|paid|void] [--tenant TENANT] [--limit N]
  invoices pay INVOICE
  invoices void INVOICE
  billing run [--from YYYY-MM-DD --to YYYY-MM-DD]
  prices get [--tenant TENANT]                   (without --tenant: the global book)
  prices set --file BOOK.json [--tenant TENANT]  (the whole book: {"currency", "prices"})
  prices add --model M --dimension D --price P --from YYYY-MM-DD [--tier UPTO:P]...
             [--tenant TENANT]                   (the book as it is, plus this price)

QUOTA FLAGS (none: no such limit):
  --rate N|none             units bucket: units (tokens on token routes) added per minute; 0: no refill
  --burst N|none            units bucket: capacity
  --rpm N|none              request bucket: calls added per minute
  --request-burst N|none    request bucket: capacity
  --max-concurrent N|none   calls in flight at once, for the whole tenant
  --daily N|none            units per day
  --tz ZONE                 the time zone whose midnight resets the daily quota
  --shadow on|off           report, never block
  --unit-price P|default    price per unit; default: BILLING_UNIT_COST
  --alerts F,F|none         fractions of the daily quota that send quota.threshold (0.8,1)
  A bucket given one of its two numbers uses it for both (a minute's worth); given neither,
  it is not there: --rate none --burst none leaves no units bucket. Tables show a bucket's
  numbers as they apply.

LIMIT FLAGS (overrides): --rate, --burst, --rpm, --request-burst, --max-concurrent, --daily
  and --shadow, as above: they replace the quota's until WHEN; the rest of the quota stays.

KEY LIMIT FLAGS: --rate, --burst, --rpm, --request-burst, as above, for the key's own
  buckets, on top of the tenant's; none removes one, --clear all of them.

PRICES (docs/pricing.md): --model is a model name, a prefix ending in * (quote it:
  "gpt-4o*") or *; --dimension is requests, inputTokens, outputTokens, cachedInputTokens or
  units; --price is per unit (one token, one request), in the billing currency; --from is the
  first UTC day it applies to. --tier, once per tier in order, gives graduated tiers over the
  period, rest:P the last; then --price may be left out: it is the first tier's.

The gateway and token come from --url and --token, else AEGIS_URL and AEGIS_ADMIN_TOKEN.`;

export interface CliIo {
  env: Record<string, string | undefined>;
  stdout(text: string): void;
  stderr(text: string): void;
  fetch?: (request: Request) => Promise<Response>;
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    io.stderr(`aegis: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    return 2;
  }
  const { positionals, values } = parsed;
  if (values.help || positionals.length === 0) {
    (values.help ? io.stdout : io.stderr)(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const two = positionals.slice(0, 2).join(" ");
  const name = commands[two] ? two : (positionals[0] ?? "");
  const command = commands[name];
  if (!command) {
    io.stderr(`aegis: unknown command "${positionals.join(" ")}"\n${USAGE}\n`);
    return 2;
  }
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
    const out = await command(admin, args, values);
    io.stdout(`${json ? JSON.stringify(out.json, null, 2) : out.text}\n`);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`aegis: ${err.message}\n`);
      return 2;
    }
    if (json && err instanceof HTTPError) {
      io.stderr(`${JSON.stringify({ error: err.problem }, null, 2)}\n`);
      return 1;
    }
    if (err instanceof HTTPError) {
      io.stderr(describeProblem(err));
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

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
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
      file: { type: "string" },
      model: { type: "string" },
      dimension: { type: "string" },
      price: { type: "string" },
      tier: { type: "string", multiple: true },
    },
  });
}
