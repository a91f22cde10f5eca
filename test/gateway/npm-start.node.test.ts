// `npm start` end to end: embedded PGlite, wrangler dev, demo upstream and demo tenant,
// driven the way the README tells a new user to, and stopped with Ctrl-C.

import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { parseList } from "structured-headers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../scripts/lib/free-port";

let child: ChildProcess;
let output = "";
let port = 0;
let dataDir = "";
// biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${...} that dotenv-expand must leave alone
const ADMIN_TOKEN = 'adm-$HOME-${PATH}-it\'s-"q"-0123456789';

function waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${pattern}; output:\n${output}`)),
      timeoutMs,
    );
    const check = () => {
      const m = output.match(pattern);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      } else if (child.exitCode !== null) {
        clearTimeout(timer);
        reject(new Error(`npm start exited with ${child.exitCode}; output:\n${output}`));
      } else setTimeout(check, 100);
    };
    check();
  });
}

beforeAll(async () => {
  port = await freePort();
  dataDir = mkdtempSync(path.join(tmpdir(), "aegis-start-"));
  // Without DATABASE_URL or UPSTREAM_URL: the embedded defaults. ADMIN_TOKEN is set, with
  // characters a dotenv file would mangle, to prove settings reach the Worker intact.
  // METRICS_TOKEN is not: npm start makes one.
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), AEGIS_DATA_DIR: dataDir, ADMIN_TOKEN };
  for (const k of ["DATABASE_URL", "UPSTREAM_URL", "METRICS_TOKEN"]) delete env[k];
  child = spawn("npm", ["start"], { detached: true, env, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  await waitFor(/Press Ctrl-C to stop/, 120_000);
}, 130_000);

afterAll(() => {
  try {
    if (child.pid) process.kill(-child.pid, "SIGKILL");
  } catch {
    // already stopped
  }
  rmSync(dataDir, { recursive: true, force: true });
});

/** Processes of this run's wrangler dev, found by the env file named for its port. */
function wranglerProcesses(): string {
  try {
    return execFileSync("pgrep", ["-f", `worker-${port}.env`], { encoding: "utf8" }).trim();
  } catch {
    return ""; // pgrep exits 1 when nothing matches
  }
}

describe("npm start", () => {
  it("prints a working key, admin token and curl line, and the gateway limits the demo tenant", async () => {
    const key = (await waitFor(/demo API key (ak_\S+)/, 1_000))[1] ?? "";
    expect((await waitFor(/admin token {2}(\S+) \(from ADMIN_TOKEN\)/, 1_000))[1]).toBe(ADMIN_TOKEN);
    const token = ADMIN_TOKEN;
    expect(output).toContain(`curl -i http://127.0.0.1:${port}/v1/chat/completions -H "Authorization: Bearer ${key}"`);
    // The first call of a fresh demo tenant.

    const base = `http://127.0.0.1:${port}`;
    const chat = () =>
      fetch(`${base}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "demo-1", messages: [{ role: "user", content: "hi" }] }),
      });
    const first = await chat();
    expect(first.status).toBe(200);
    const body = (await first.json()) as { usage: { total_tokens: number } };
    expect(body.usage.total_tokens).toBeGreaterThan(0);
    const policy = parseList(first.headers.get("ratelimit-policy") ?? "");
    expect(policy.map(([n]) => n)).toEqual(["default", "daily"]);

    // Each call is settled to the tokens the demo upstream reports (about 18), so the demo
    // quota's burst of 1,000 units runs out within a few rounds of 50 calls at once, however
    // slow this machine is: a round uses about 900 units, and the bucket refills 100 a second.
    let limited = 0;
    for (let round = 0; round < 10 && limited === 0; round++) {
      const statuses = await Promise.all(
        Array.from({ length: 50 }, async () => {
          const res = await chat();
          await res.arrayBuffer();
          return res.status;
        }),
      );
      limited += statuses.filter((s) => s === 429).length;
      expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    }
    expect(limited).toBeGreaterThan(0);

    // The calls reach Postgres (PGlite here) through the limiter's outbox and the queue.
    const deadline = Date.now() + 30_000;
    let usage = { totalUnits: 0, days: [] as { requests: number }[] };
    while (Date.now() < deadline) {
      const res = await fetch(`${base}/account/v1/usage`, { headers: { authorization: `Bearer ${key}` } });
      usage = (await res.json()) as typeof usage;
      if (usage.totalUnits >= 1_000) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(usage.totalUnits).toBeGreaterThanOrEqual(1_000);

    const tenants = await fetch(`${base}/admin/v1/tenants`, { headers: { authorization: `Bearer ${token}` } });
    expect(tenants.status).toBe(200);
    expect(((await tenants.json()) as { tenants: { name: string }[] }).tenants.map((t) => t.name)).toContain("demo");
  });

  it("prints the console, the API docs and the CLI's environment, which work", async () => {
    const base = `http://127.0.0.1:${port}`;
    const [, consoleUrl] = await waitFor(/console {6}(\S+) \(sign in with the admin token\)/, 1_000);
    expect(consoleUrl).toBe(`${base}/admin/ui`);
    const login = await fetch(consoleUrl ?? "", { redirect: "manual" });
    expect([200, 302, 303]).toContain(login.status);
    await login.arrayBuffer();
    const [, docsUrl] = await waitFor(/API docs {5}(\S+)/, 1_000);
    const docs = await fetch(docsUrl ?? "");
    expect(docs.status).toBe(200);
    expect(docs.headers.get("content-type")).toContain("text/html");
    await docs.arrayBuffer();
    expect(output).toContain(`export AEGIS_URL=${base} AEGIS_ADMIN_TOKEN=${ADMIN_TOKEN}`);
  });

  it("prints the metrics URL and a curl line whose generated token scrapes it", async () => {
    const [, url, token] = await waitFor(/curl -s (\S+\/metrics) -H "Authorization: Bearer (\S+)"/, 1_000);
    expect(url).toBe(`http://127.0.0.1:${port}/metrics`);
    // Made by this run and kept in the data directory, beside the key signing secret.
    expect(readFileSync(path.join(dataDir, "metrics-token"), "utf8").trim()).toBe(token);
    const res = await fetch(url ?? "", { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const families = parsePrometheusTextFormat(await res.text());
    // The demo tenant's calls of the test before reached the rollup (PGlite) that /metrics reads.
    const demo = (await waitFor(/demo tenant {2}(\S+)/, 1_000))[1];
    const units = families
      .find((f) => f.name === "aegis_usage_today")
      ?.metrics.filter((m) => m.labels?.tenant === demo && m.labels?.dimension === "units")
      .reduce((sum, m) => sum + Number(m.value), 0);
    expect(units).toBeGreaterThan(0);
    const wrong = await fetch(url ?? "", { headers: { authorization: "Bearer metrics-wrong-token-0123456789" } });
    expect(wrong.status).toBe(401);
  });

  it("stops every child process on Ctrl-C", async () => {
    expect(wranglerProcesses()).not.toBe("");
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    if (child.pid) process.kill(-child.pid, "SIGINT");
    await exited;
    const deadline = Date.now() + 15_000;
    while (wranglerProcesses() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(wranglerProcesses()).toBe("");
    await expect(
      fetch(`http://127.0.0.1:${port}/openapi.json`, { signal: AbortSignal.timeout(2_000) }),
    ).rejects.toThrow();
  }, 30_000);
});
