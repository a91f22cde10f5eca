// The Chromium the browser tests drive: CHROMIUM_PATH when set (a system Chromium such as
// Debian's /usr/bin/chromium), else the headless Chromium that npm installs with
// @sparticuz/chromium, so `npm install && npm test` needs no system browser.

import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rename, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { type Browser, chromium } from "playwright-core";
import { ROOT } from "../../scripts/lib/wrangler-dev";

// The network here is closed: without these Chromium keeps trying to reach Google's services.
const OFFLINE = ["--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"];
const SYSTEM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", ...OFFLINE];
// @sparticuz/chromium's args are made for AWS Lambda. Left out: --single-process, under which
// the browser exits with its last page (a test's second newPage() finds it closed), and the two
// that switch off the same-origin policy, which the console and /docs must be tested under.
const NOT_HERE = new Set(["--single-process", "--disable-web-security", "--allow-running-insecure-content"]);

export async function launchChromium(): Promise<Browser> {
  const override = process.env.CHROMIUM_PATH;
  if (override) return chromium.launch({ executablePath: override, args: SYSTEM_ARGS, headless: true });
  const { default: sparticuz } = await import("@sparticuz/chromium");
  const args = sparticuz.args.filter((a) => !NOT_HERE.has(a));
  const { executablePath, libs } = await unpacked();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  // The NSS and expat libraries it links come with it, so the host needs none installed.
  env.LD_LIBRARY_PATH = [libs, process.env.LD_LIBRARY_PATH].filter(Boolean).join(":");
  return chromium.launch({
    executablePath,
    args: [...args, ...OFFLINE.filter((f) => !args.includes(f))],
    env,
    headless: true,
  });
}

// @sparticuz/chromium unpacks into os.tmpdir() on first use, writing /tmp/chromium in place: a
// second process can see it half written (spawn ETXTBSY), a killed run leaves it truncated for
// good, and another version's binary there is taken as is. So it is unpacked in a child process
// into a scratch directory that is then renamed, whole, to one per package version under
// node_modules/.cache (removed with node_modules).
async function unpacked(): Promise<{ executablePath: string; libs: string }> {
  const entry = createRequire(path.join(ROOT, "package.json")).resolve("@sparticuz/chromium");
  const pkg = path.resolve(path.dirname(entry), "..");
  const { version } = JSON.parse(readFileSync(path.join(pkg, "package.json"), "utf8")) as { version: string };
  const cache = path.join(ROOT, "node_modules", ".cache", "sparticuz-chromium");
  const dir = path.join(cache, version);
  const result = { executablePath: path.join(dir, "chromium"), libs: path.join(dir, "al2023", "lib") };
  if (existsSync(result.executablePath)) return result;

  await mkdir(cache, { recursive: true });
  const scratch = await mkdtemp(path.join(cache, `.${version}-`));
  try {
    const script = [
      "const { default: chromium, inflate } = await import(process.argv[1]);",
      "process.stdout.write(await chromium.executablePath());",
      "await inflate(process.argv[2]);",
    ].join("\n");
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ["--input-type=module", "-e", script, pathToFileURL(entry).href, path.join(pkg, "bin", "al2023.tar.br")],
      { env: { ...process.env, TMPDIR: scratch } },
    );
    if (stdout !== path.join(scratch, "chromium")) throw new Error(`@sparticuz/chromium unpacked to ${stdout}`);
    await rename(scratch, dir);
    // Clear what is left of other versions, and of runs killed while unpacking (a run still
    // unpacking loses its scratch directory, finds this copy in place and uses it).
    for (const name of await readdir(cache)) {
      if (name !== version) await rm(path.join(cache, name), { recursive: true, force: true });
    }
  } catch (e) {
    // Another process may have put its copy in place first (ENOTEMPTY): use that one.
    if (!existsSync(result.executablePath)) throw e;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return result;
}
