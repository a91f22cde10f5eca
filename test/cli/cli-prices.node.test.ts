// The `aegis` CLI's price book commands against a running gateway (the self-hosted server,
// on real Postgres and Redis). The harness gives this file a scratch database of its own, so
// the global book and the invoiced-days watermark here are this file's alone. What the CLI
// sets is read back through the operator API, which reads Postgres.

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../src/cli/cli";
import { AegisAdmin } from "../../src/client/index";
import type { PriceBook, Tenant } from "../../src/client/types";
import { cliHarness } from "./cli-harness";

const cli = cliHarness("cliprices");
const { aegis, json } = cli;
const admin = () => new AegisAdmin({ baseUrl: cli.gateway().url, token: cli.gateway().token });

let dir = "";
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "aegis-cli-prices-"));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A file in this file's temporary directory holding `content` (JSON unless a string). */
async function file(name: string, content: unknown): Promise<string> {
  const at = path.join(dir, name);
  await writeFile(at, typeof content === "string" ? content : JSON.stringify(content));
  return at;
}

/** The table rows of a command's text output (after the heading, header and rule), split on column gaps. */
const rows = (out: string) =>
  out
    .trimEnd()
    .split("\n")
    .slice(3)
    .map((l) => l.split(/\s{2,}/));

/** A command line's words, split on spaces (none of this file's arguments has one). */
const words = (line: string) => line.split(" ");

const newTenant = (name: string) => json<Tenant>("tenants", "create", "--name", name);

describe("aegis prices", () => {
  it("adds prices to a tenant's own book, leaves the global one alone, and shows them", async () => {
    const t = await newTenant("priced co");
    const empty = await aegis("prices", "get", "--tenant", t.id);
    expect(empty.code, empty.err).toBe(0);
    expect(empty.out).toBe(
      `the prices of ${t.id}, in USD; nothing invoiced yet\nno prices of its own: ${t.id} is on the global book\n`,
    );

    // --price left out: with tiers it is the first tier's.
    const tiered = await aegis(
      ...words(
        `prices add --tenant ${t.id} --model gpt-4o* --dimension outputTokens --from 2026-12-01 --tier 10000000:0.00001 --tier rest:0.000008`,
      ),
    );
    expect(tiered.code, tiered.err).toBe(0);
    expect(tiered.out).toMatch(
      new RegExp(`^added the outputTokens price of gpt-4o\\* from 2026-12-01 to the prices of ${t.id}\\n`),
    );
    const added = await json<PriceBook>(
      ...words(
        `prices add --tenant ${t.id} --model gpt-4o-mini --dimension inputTokens --price 0.00000015 --from 2027-01-01`,
      ),
    );
    const expected = [
      {
        model: "gpt-4o*",
        dimension: "outputTokens",
        unitPrice: "0.00001",
        effectiveFrom: "2026-12-01",
        tiers: [
          { upTo: 10_000_000, unitPrice: "0.00001" },
          { upTo: null, unitPrice: "0.000008" },
        ],
      },
      { model: "gpt-4o-mini", dimension: "inputTokens", unitPrice: "0.00000015", effectiveFrom: "2027-01-01" },
    ];
    // The second add kept the first price: it wrote back the book it read.
    expect(added).toEqual({ currency: "USD", prices: expected, fixedBefore: null });
    expect((await admin().getTenantPrices(t.id)).prices).toEqual(expected);

    const shown = await aegis("prices", "get", "--tenant", t.id);
    expect(shown.out.split("\n")[1]?.split(/\s{2,}/)).toEqual(["model", "dimension", "unit price", "from", "tiers"]);
    expect(rows(shown.out)).toEqual([
      ["gpt-4o*", "outputTokens", "0.00001", "2026-12-01", "10000000:0.00001, rest:0.000008"],
      ["gpt-4o-mini", "inputTokens", "0.00000015", "2027-01-01", "-"],
    ]);
    expect(await json("prices", "get", "--tenant", t.id)).toEqual(added);

    // The tenant's prices are its own: the global book is still empty.
    expect((await admin().getPrices()).prices).toEqual([]);
    expect((await aegis("prices", "get")).out).toMatch(
      /^the global price book, in USD; nothing invoiced yet\nno prices:/,
    );
  });

  it("adds to the global book and replaces it from a file, including what prices get --json printed", async () => {
    const g = await json<PriceBook>(
      ...words(`prices add --model * --dimension requests --price 0.001 --from 2026-12-01`),
    );
    expect(g.prices).toEqual([{ model: "*", dimension: "requests", unitPrice: "0.001", effectiveFrom: "2026-12-01" }]);
    expect(rows((await aegis("prices", "get")).out)).toEqual([["*", "requests", "0.001", "2026-12-01", "-"]]);

    const book = {
      currency: "USD",
      prices: [
        { model: "claude-*", dimension: "inputTokens", unitPrice: "0.000003", effectiveFrom: "2026-12-01" },
        { model: "*", dimension: "units", unitPrice: "0.0000015", effectiveFrom: "2026-12-01" },
      ],
    };
    const set = await aegis("prices", "set", "--file", await file("book.json", book));
    expect(set.code, set.err).toBe(0);
    expect(set.out).toMatch(/^replaced the global price book\n/);
    // Replaced, not merged: the requests price is gone. Stored in order of model.
    expect((await admin().getPrices()).prices).toEqual([book.prices[1], book.prices[0]]);

    // What `prices get --json` prints carries fixedBefore, which a PUT does not take; it is
    // dropped, so a saved and edited book goes back as it is.
    const saved = await aegis("prices", "get", "--json");
    const edited = JSON.parse(saved.out) as PriceBook;
    edited.prices.push({ model: "gpt-4o", dimension: "requests", unitPrice: "0.0001", effectiveFrom: "2027-01-01" });
    const back = await json<PriceBook>("prices", "set", "--file", await file("edited.json", edited));
    expect(back.prices).toHaveLength(3);
    expect(back.prices).toContainEqual({
      model: "gpt-4o",
      dimension: "requests",
      unitPrice: "0.0001",
      effectiveFrom: "2027-01-01",
    });
  });

  it("refuses a bad book with each problem's path, and changes nothing", async () => {
    const t = await newTenant("bad book co");
    await aegis(...words(`prices add --tenant ${t.id} --model m --dimension units --price 1 --from 2026-12-01`));
    const before = await admin().getTenantPrices(t.id);
    const bad = {
      currency: "USD",
      prices: [
        { model: "a*b", dimension: "units", unitPrice: "0.0000000000001", effectiveFrom: "2026-12-01" },
        {
          model: "m",
          dimension: "outputTokens",
          unitPrice: "0.1",
          effectiveFrom: "2026-02-30",
          tiers: [
            { upTo: 100, unitPrice: "0.1" },
            { upTo: 50, unitPrice: "0.05" },
          ],
        },
      ],
    };
    const refused = await aegis("prices", "set", "--tenant", t.id, "--file", await file("bad.json", bad));
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/^aegis: 400 invalid-request: \d+ problems:\n/);
    // One line for each problem, its place first.
    for (const place of ["prices.0.model", "prices.0.unitPrice", "prices.1.effectiveFrom", "prices.1.tiers.1.upTo"]) {
      expect(refused.err).toMatch(new RegExp(`^  ${place.replaceAll(".", "\\.")}: \\S`, "m"));
    }
    const asJson = await aegis("prices", "set", "--tenant", t.id, "--file", await file("bad.json", bad), "--json");
    expect(asJson.code).toBe(1);
    expect(JSON.parse(asJson.err)).toMatchObject({
      error: {
        status: 400,
        code: "invalid-request",
        errors: expect.arrayContaining([{ path: "prices.0.model", message: expect.any(String) }]),
      },
    });

    const euro = await aegis(
      "prices",
      "set",
      "--tenant",
      t.id,
      "--file",
      await file("eur.json", { ...bad, currency: "EUR", prices: [] }),
    );
    expect(euro.code).toBe(1);
    expect(euro.err).toMatch(/^aegis: 400 currency-mismatch: .*USD/);
    // A bad --price through prices add is the gateway's to find, at the new price's place.
    const badPrice = await aegis(
      ...words(`prices add --tenant ${t.id} --model n --dimension units --price 1e-6 --from 2026-12-01`),
    );
    expect(badPrice.code).toBe(1);
    expect(badPrice.err).toMatch(/^aegis: 400 invalid-request: prices\.1\.unitPrice: /);
    expect(await admin().getTenantPrices(t.id)).toEqual(before);

    const unknown = await aegis("prices", "get", "--tenant", "tnaaaaaaaaaaaaaaaa");
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/^aegis: 404 tenant-not-found: /);
  });

  it("refuses to rewrite the prices of invoiced days (409), naming the day from which it can", async () => {
    const t = await newTenant("history co");
    // After the tests above, which expect nothing invoiced in this database yet.
    // A billing run of a past month invoices its days, whether or not there was usage.
    const run = await aegis("billing", "run", "--from", "2020-01-01", "--to", "2020-02-01");
    expect(run.code, run.err).toBe(0);
    expect((await json<PriceBook>("prices", "get", "--tenant", t.id)).fixedBefore).toBe("2020-02-01");
    expect((await aegis("prices", "get", "--tenant", t.id)).out.split("\n")[0]).toBe(
      `the prices of ${t.id}, in USD; days before 2020-02-01 are invoiced, and the prices in force on them fixed`,
    );
    const late = await aegis(
      ...words(`prices add --tenant ${t.id} --model m --dimension units --price 1 --from 2020-01-15`),
    );
    expect(late.code).toBe(1);
    expect(late.err).toMatch(
      /^aegis: 409 price-history-fixed: prices\.0\.effectiveFrom: 2020-01-15 is a day already invoiced/,
    );
    expect((await admin().getTenantPrices(t.id)).prices).toEqual([]);
  });

  it("gives a usage error for missing or malformed flags without asking the gateway", async () => {
    const asked: string[] = [];
    const run = async (...argv: string[]) => {
      let err = "";
      const code = await runCli(argv, {
        env: { AEGIS_URL: cli.gateway().url, AEGIS_ADMIN_TOKEN: cli.gateway().token },
        stdout: () => {},
        stderr: (t) => {
          err += t;
        },
        fetch: (request) => {
          asked.push(`${request.method} ${new URL(request.url).pathname}`);
          return fetch(request);
        },
      });
      return { code, err };
    };
    // Each names what is missing, then the command's usage line.
    const addUsage =
      "usage: aegis prices add --model M --dimension D --price P --from YYYY-MM-DD [--tier UPTO:P]...\n" +
      "    [--tenant TENANT]         (the book as it is, plus this price)\n";
    expect(await run("prices", "add", "--model", "gpt-4o", "--price", "0.1")).toEqual({
      code: 2,
      err: `aegis: prices add needs --dimension, --from\n${addUsage}`,
    });
    expect(await run("prices", "add", "--model", "m", "--dimension", "units", "--from", "2026-12-01")).toEqual({
      code: 2,
      err: `aegis: prices add needs --price\n${addUsage}`,
    });
    expect(await run("prices", "add", "--dimension", "units", "--price", "1", "--from", "2026-12-01")).toEqual({
      code: 2,
      err: `aegis: prices add needs --model\n${addUsage}`,
    });
    const tier = await run(...words(`prices add --model m --dimension units --from 2026-12-01 --tier 10M:0.1`));
    expect(tier.code).toBe(2);
    expect(tier.err).toMatch(/--tier is UPTO:PRICE .*; got 10M:0.1/);
    expect(await run("prices", "set")).toEqual({
      code: 2,
      err: 'aegis: prices set needs --file\nusage: aegis prices set --file BOOK.json [--tenant TENANT]  (the whole book: {"currency", "prices"})\n',
    });
    const missing = await run("prices", "set", "--file", path.join(dir, "no-such-book.json"));
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/^aegis: prices set: cannot read .*no-such-book\.json: ENOENT/);
    const notJson = await run("prices", "set", "--file", await file("not.json", "currency: USD"));
    expect(notJson.code).toBe(2);
    expect(notJson.err).toMatch(/not\.json is not JSON: /);
    const list = await run("prices", "set", "--file", await file("list.json", []));
    expect(list.err).toMatch(/must hold a price book: \{"currency": "USD", "prices": \[\.\.\.\]\}/);
    // A tenant is named with --tenant: a positional would have shown the global book.
    const positional = await run("prices", "get", "tnaaaaaaaaaaaaaaaa");
    expect(positional.code).toBe(2);
    expect(positional.err).toMatch(/prices get takes no arguments .*--tenant TENANT/);
    expect((await run("tenants", "update", "tnaaaaaaaaaaaaaaaa")).err).toMatch(
      /tenants update needs --name, --payment-method or --billing-account/,
    );
    expect(asked).toEqual([]);

    // The same harness does reach the gateway once the flags are right.
    expect((await run("prices", "get")).code).toBe(0);
    expect(asked).toEqual(["GET /admin/v1/prices"]);
  });
});
