// The `aegis` CLI's misuse, caught before anything is sent: a missing argument or flag, a
// flag the command does not take, a value it does not know. Each exits 2 and says what is
// wrong with the command's usage line. No gateway: every request the CLI tries is counted,
// and sent to a port nobody listens on. And how an unreachable gateway is described.

import { beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/lib/free-port";
import { runCli, USAGE } from "../../src/cli/cli";
import { commands } from "../../src/cli/commands";
import { describeUnreachable } from "../../src/cli/unreachable";
import { commandFlags, usageLines } from "../../src/cli/usage";
import { NetworkError, TimeoutError } from "../../src/client/index";

let DOWN = "";
beforeAll(async () => {
  // A port the system gave out and nobody listens on now.
  DOWN = `http://127.0.0.1:${await freePort()}`;
});

async function run(...argv: string[]) {
  let out = "";
  let err = "";
  const asked: string[] = [];
  const code = await runCli(argv, {
    env: { AEGIS_URL: DOWN, AEGIS_ADMIN_TOKEN: "cli-usage-errors-token-0123" },
    stdout: (t) => {
      out += t;
    },
    stderr: (t) => {
      err += t;
    },
    fetch: (request) => {
      asked.push(`${request.method} ${new URL(request.url).pathname}`);
      return fetch(request);
    },
  });
  return { code, out, err, asked };
}

describe("aegis usage errors", () => {
  it("names what is missing and shows the command's usage line, sending nothing", async () => {
    const cases: [string[], string][] = [
      [["overrides", "set", "tnaaaaaaaaaaaaaaaa", "--daily", "5"], "overrides set needs --until"],
      [["overrides", "set", "tnaaaaaaaaaaaaaaaa", "--until", "+1h"], "overrides set needs at least one of --rate"],
      [["invoices", "pay"], "invoices pay: missing INVOICE (an invoice id)"],
      [["invoices", "void"], "invoices void: missing INVOICE (an invoice id)"],
      [["tenants", "get"], "tenants get: missing TENANT (a tenant id)"],
      [["quotas", "get"], "quotas get: missing TENANT (a tenant id)"],
      [["quotas", "route", "tnaaaaaaaaaaaaaaaa"], "quotas route: missing ROUTE (a route key, such as chat)"],
      [["quotas", "route", "tnaaaaaaaaaaaaaaaa", "chat"], "quotas route needs --rate, --burst, --rpm"],
      [
        ["quotas", "route", "tnaaaaaaaaaaaaaaaa", "chat", "--clear", "--rpm", "3"],
        "quotas route takes --clear, or route flags",
      ],
      [["quotas", "route", "tnaaaaaaaaaaaaaaaa", "chat", "--cost", "two"], "--cost must be a whole number or none"],
      [["webhooks", "redeliver"], "webhooks redeliver: missing DELIVERY (a delivery id, msg_...)"],
      [["webhooks", "deliveries", "--status", "lost"], "--status is pending, delivered, failed, disabled; got lost"],
      [["tenants", "create", "--rate", "6"], "tenants create needs --name"],
      [["tenants", "create", "--name"], "tenants create: --name needs a value"],
      [
        ["tenants", "update", "tnaaaaaaaaaaaaaaaa"],
        "tenants update needs --name, --payment-method or --billing-account",
      ],
      [["tenants", "list", "--colour"], "tenants list takes no --colour"],
      // A flag another command takes is as wrong here as one nobody takes.
      [["tenants", "list", "--model", "gpt-4o"], "tenants list takes no --model"],
      [["keys", "list", "tnaaaaaaaaaaaaaaaa", "--clear"], "keys list takes no --clear"],
      // Invoices are never drafts: the CLI does not offer the status.
      [["invoices", "list", "--status", "draft"], "--status is issued, paid or void; got draft"],
      [["quotas", "set", "tnaaaaaaaaaaaaaaaa", "--leases", "maybe"], "--leases is on or off"],
      [["quotas", "set", "tnaaaaaaaaaaaaaaaa", "--leases"], "quotas set: --leases needs a value"],
      [["tenants", "create", "--name", "x", "--leases", "yes"], "--leases is on or off"],
      // Lease mode is the quota's: an override cannot switch it.
      [
        ["overrides", "set", "tnaaaaaaaaaaaaaaaa", "--until", "+1h", "--leases", "on"],
        "overrides set takes no --leases",
      ],
    ];
    for (const [argv, message] of cases) {
      const r = await run(...argv);
      const name = commands[argv.slice(0, 2).join(" ")] ? argv.slice(0, 2).join(" ") : (argv[0] as string);
      expect(r.code, argv.join(" ")).toBe(2);
      const [first, second] = r.err.split("\n");
      expect(first, argv.join(" ")).toMatch(/^aegis: /);
      expect(first, argv.join(" ")).toContain(message);
      expect(second, argv.join(" ")).toBe(`usage: aegis ${usageLines(name).split("\n")[0]}`);
      expect(r.out).toBe("");
      expect(r.asked, argv.join(" ")).toEqual([]);
    }
  });

  it("lists every command in the usage text, with the flags each takes, and no draft status", () => {
    for (const name of Object.keys(commands)) {
      expect(usageLines(name), name).not.toBe("");
    }
    expect(USAGE).not.toMatch(/draft/);
    expect([...commandFlags("quotas route")].sort()).toEqual(
      [
        "burst",
        "clear",
        "cost",
        "help",
        "json",
        "max-concurrent",
        "rate",
        "request-burst",
        "rpm",
        "token",
        "url",
      ].sort(),
    );
    expect(commandFlags("webhooks deliveries")).toEqual(
      new Set(["json", "help", "url", "token", "tenant", "status", "limit", "cursor"]),
    );
    expect(commandFlags("tenants create")).toContain("billing-account");
    expect(commandFlags("tenants create")).toContain("max-concurrent");
  });

  it("names why the gateway cannot be reached, and exits 1", async () => {
    const r = await run("tenants", "list");
    expect(r).toMatchObject({ code: 1, out: "", asked: ["GET /admin/v1/tenants"] });
    expect(r.err).toBe(`aegis: cannot reach the gateway at ${DOWN}: connection refused (ECONNREFUSED)\n`);

    // As Node's fetch reports a failed DNS lookup: the code is under the cause.
    const target = { method: "GET", url: "http://gateway.invalid/admin/v1/tenants" };
    const lookup = Object.assign(new Error("getaddrinfo ENOTFOUND gateway.invalid"), { code: "ENOTFOUND" });
    const dns = new NetworkError(target, { cause: new TypeError("fetch failed", { cause: lookup }) });
    expect(describeUnreachable(dns, "http://gateway.invalid")).toBe(
      "cannot reach the gateway at http://gateway.invalid: no such host (DNS lookup failed) (ENOTFOUND)",
    );
    // Every address refused: an AggregateError, one error each.
    const refused = (address: string) =>
      Object.assign(new Error(`connect ECONNREFUSED ${address}`), { code: "ECONNREFUSED" });
    const both = new NetworkError(target, {
      cause: new TypeError("fetch failed", { cause: new AggregateError([refused("::1:80"), refused("127.0.0.1:80")]) }),
    });
    expect(describeUnreachable(both, "http://localhost")).toBe(
      "cannot reach the gateway at http://localhost: connection refused (ECONNREFUSED)",
    );
    expect(describeUnreachable(new TimeoutError(30_000, target), "http://gateway.invalid")).toBe(
      "cannot reach the gateway at http://gateway.invalid: no answer within 30 s (timeout)",
    );
    // Port 1 is one fetch never connects to, which it says as "bad port".
    const blocked = await runCli(["tenants", "list"], {
      env: { AEGIS_URL: "http://127.0.0.1:1", AEGIS_ADMIN_TOKEN: "cli-usage-errors-token-0123" },
      stdout: () => {},
      stderr: (t) => {
        expect(t).toBe(
          "aegis: cannot reach the gateway at http://127.0.0.1:1: fetch does not connect to this port (a blocked port)\n",
        );
      },
    });
    expect(blocked).toBe(1);
  });
});
