// The CLI's usage text, and what each command's lines in it say: its usage line for a usage
// error, and the flags it takes. Deriving both from the text keeps --help and the checks in step.

export const USAGE = `usage: aegis <command> [args] [--json] [--url URL] [--token TOKEN]

  tenants create --name NAME [--payment-method REF] [--billing-account ID] [QUOTA FLAGS]
                 (a quota flag not given takes the gateway's default, what a tenant created
                 with none gets: --rate 6 alone keeps the default burst, daily quota, zone...)
  tenants list [--limit N] [--cursor C]
  tenants get TENANT                   (everything: limits, routes, override, prices, keys,
                                        today's usage)
  tenants update TENANT [--name NAME] [--payment-method REF|none] [--billing-account ID|none]
  tenants suspend TENANT
  tenants activate TENANT
  quotas get TENANT                    (the quota as it applies, and any override)
  quotas set TENANT QUOTA FLAGS        (what is not given stays as it is)
  quotas route TENANT ROUTE (ROUTE FLAGS | --clear)   (what is not given stays as it is)
  overrides set TENANT --until WHEN LIMIT FLAGS  (until WHEN: ISO 8601, or +90m, +6h, +2d)
  overrides clear TENANT               (the quota applies again now)
  keys create TENANT [--name NAME] [KEY LIMIT FLAGS]
  keys limits TENANT KEY (KEY LIMIT FLAGS | --clear)   (what is not given stays as it is)
  keys list TENANT
  keys revoke TENANT KEY
  usage TENANT [--from YYYY-MM-DD] [--to YYYY-MM-DD]
  invoices list [--status issued|paid|void] [--tenant TENANT] [--limit N] [--cursor C]
  invoices pay INVOICE
  invoices void INVOICE
  billing run [--from YYYY-MM-DD --to YYYY-MM-DD]
  webhooks deliveries [--tenant TENANT] [--status pending|delivered|failed|disabled]
                      [--limit N] [--cursor C]
  webhooks redeliver DELIVERY          (the same webhook-id; its retries start over)
  prices get [--tenant TENANT]         (without --tenant: the global book)
  prices set --file BOOK.json [--tenant TENANT]  (the whole book: {"currency", "prices"})
  prices add --model M --dimension D --price P --from YYYY-MM-DD [--tier UPTO:P]...
             [--tenant TENANT]         (the book as it is, plus this price)

QUOTA FLAGS (none: no such limit):
  --rate N|none             units bucket: units (tokens on token routes) added per minute; 0: no refill
  --burst N|none            units bucket: capacity
  --rpm N|none              request bucket: calls added per minute
  --request-burst N|none    request bucket: capacity
  --max-concurrent N|none   calls in flight at once, for the whole tenant
  --daily N|none            units per day
  --tz ZONE                 the time zone whose midnight resets the daily quota
  --shadow on|off           report, never block
  --leases on|off           lease mode: admit calls from units leased from the limiter; off: exact
  --unit-price P|default    price per unit; default: BILLING_UNIT_COST
  --alerts F,F|none         fractions of the daily quota that send quota.threshold (0.8,1)
  A bucket whose other number is none uses the one it has for both (a minute's worth); with
  both none it is not there: --rate none --burst none leaves no units bucket. A flag changes
  its own number only: --rate 6 keeps the burst there is (on tenants create, the default's).
  Tables show a bucket's numbers as they apply.

ROUTE FLAGS (quotas route): --rate, --burst, --rpm, --request-burst, --max-concurrent as
  above, and --cost N (units a call to the route takes), for that route alone; none: the
  tenant's number again. --clear: the route has no limits of its own.

LIMIT FLAGS (overrides): --rate, --burst, --rpm, --request-burst, --max-concurrent, --daily
  and --shadow, as above: they replace the quota's until WHEN; the rest of the quota stays.

KEY LIMIT FLAGS: --rate, --burst, --rpm, --request-burst, as above, for the key's own
  buckets, on top of the tenant's; none removes one, --clear all of them.

PRICES (docs/pricing.md): --model is a model name, a prefix ending in * (quote it:
  "gpt-4o*") or *; --dimension is requests, inputTokens, outputTokens, cachedInputTokens or
  units; --price is per unit (one token, one request), in the billing currency; --from is the
  first UTC day it applies to. --tier, once per tier in order, gives graduated tiers over the
  period, rest:P the last; then --price may be left out: it is the first tier's.

The gateway and token come from --url and --token, else AEGIS_URL and AEGIS_ADMIN_TOKEN.
A refusal exits 1, as does a gateway that cannot be reached; a mistake in the command exits 2
before anything is sent.`;

/** Every command takes these. */
export const GLOBAL_FLAGS = ["json", "help", "url", "token"];

const QUOTA = [
  "rate",
  "burst",
  "rpm",
  "request-burst",
  "max-concurrent",
  "daily",
  "tz",
  "shadow",
  "leases",
  "unit-price",
  "alerts",
];
// A key's flags take the tenant-only ones too, so that keys-flags.ts can say whose they are.
const PLACEHOLDERS: [string, string[]][] = [
  ["KEY LIMIT FLAGS", QUOTA],
  ["QUOTA FLAGS", QUOTA],
  ["ROUTE FLAGS", ["rate", "burst", "rpm", "request-burst", "max-concurrent", "cost"]],
  ["LIMIT FLAGS", ["rate", "burst", "rpm", "request-burst", "max-concurrent", "daily", "shadow"]],
];

/** The command's lines in USAGE: its own, and the lines continuing it (indented deeper). */
export function usageLines(command: string): string {
  const lines = USAGE.split("\n");
  const start = lines.findIndex((l) => l.startsWith(`  ${command} `) || l === `  ${command}`);
  if (start < 0) return "";
  const own = [lines[start] as string];
  for (let i = start + 1; i < lines.length && /^ {4,}\S/.test(lines[i] ?? ""); i++) own.push(lines[i] as string);
  return own.map((l) => l.trim()).join("\n    ");
}

/** The flags the command's usage lines name, with each placeholder's flags. */
export function commandFlags(command: string): Set<string> {
  let text = usageLines(command);
  const flags = new Set(GLOBAL_FLAGS);
  for (const [placeholder, names] of PLACEHOLDERS) {
    if (!text.includes(placeholder)) continue;
    for (const n of names) flags.add(n);
    text = text.replaceAll(placeholder, "");
  }
  for (const m of text.matchAll(/--([a-z][a-z-]*)/g)) flags.add(m[1] as string);
  return flags;
}
