// npm start's local secrets (scripts/lib/local-secret.ts): kept in a file between runs, and a
// file that holds no valid secret is never passed on as one.

import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { localAdminToken, localKeySigningSecret, localMetricsToken } from "../../scripts/lib/local-secret";
import { loadConfig, MIN_METRICS_TOKEN_LENGTH } from "../../src/config";

const dir = mkdtempSync(path.join(tmpdir(), "aegis-local-secret-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
/** A file path of its own in a fresh folder, holding `content` when given. */
const fileWith = (content?: string) => {
  const file = path.join(dir, `case-${files++}`, "secret");
  mkdirSync(path.dirname(file));
  if (content !== undefined) writeFileSync(file, content);
  return file;
};

describe("the local metrics token", () => {
  it("is made and kept in the file when there is none, owner-readable only, and read back the next run", () => {
    const file = fileWith();
    const told: string[] = [];
    const token = localMetricsToken(file, (m) => told.push(m));
    expect(token).toMatch(/^mtk_[A-Za-z0-9_-]{43}$/);
    expect(readFileSync(file, "utf8")).toBe(`${token}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(localMetricsToken(file, (m) => told.push(m))).toBe(token);
    expect(told).toEqual([]);
    // What it makes is a token the Worker's config takes.
    expect(loadConfig({ METRICS_TOKEN: token }).METRICS_TOKEN).toBe(token);
  });

  it.each([
    ["empty", ""],
    ["blank", "  \n"],
    ["one character short", "x".repeat(MIN_METRICS_TOKEN_LENGTH - 1)],
    ["with a space inside", "metrics token 0123456789"],
  ])("is made anew, over the file, when the file's content is %s, and the file is named", (_, content) => {
    const file = fileWith(content);
    // A file anyone may read: the new token must not stay so.
    chmodSync(file, 0o644);
    const told: string[] = [];
    const token = localMetricsToken(file, (m) => told.push(m));
    expect(token).toMatch(/^mtk_[A-Za-z0-9_-]{43}$/);
    expect(readFileSync(file, "utf8")).toBe(`${token}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(told).toEqual([
      `${file} did not hold a valid metrics token (at least 16 characters, no spaces); wrote a new one there`,
    ]);
  });

  it("keeps a hand-written token of the shortest length accepted", () => {
    const handWritten = "h".repeat(MIN_METRICS_TOKEN_LENGTH);
    const file = fileWith(`${handWritten}\n`);
    const told: string[] = [];
    expect(localMetricsToken(file, (m) => told.push(m))).toBe(handWritten);
    expect(told).toEqual([]);
  });
});

describe("the local key signing secret", () => {
  it("is kept when valid, and an invalid file is an error naming it, left as it was", () => {
    const secret = "s".repeat(32);
    expect(localKeySigningSecret(fileWith(`${secret}\n`))).toBe(secret);
    const short = fileWith("s".repeat(31));
    expect(() => localKeySigningSecret(short)).toThrow(`${short} does not hold a valid key signing secret`);
    expect(readFileSync(short, "utf8")).toBe("s".repeat(31));
    const empty = fileWith("");
    expect(() => localKeySigningSecret(empty)).toThrow(`${empty} does not hold a valid key signing secret`);
  });
});

describe("the local admin token", () => {
  it("is made, kept owner-readable and read back, so a restart keeps the console and the CLI signed in", () => {
    const file = fileWith();
    const told: string[] = [];
    const token = localAdminToken(file, (m) => told.push(m));
    expect(token).toMatch(/^adm_[A-Za-z0-9_-]{43}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(localAdminToken(file, (m) => told.push(m))).toBe(token);
    expect(told).toEqual([]);
    expect(loadConfig({ ADMIN_TOKEN: token }).ADMIN_TOKEN).toBe(token);
  });

  it("is made anew over a file that holds no valid token, naming the file", () => {
    const file = fileWith("short");
    const told: string[] = [];
    const token = localAdminToken(file, (m) => told.push(m));
    expect(token).toMatch(/^adm_/);
    expect(readFileSync(file, "utf8")).toBe(`${token}\n`);
    expect(told).toEqual([
      `${file} did not hold a valid admin token (at least 16 characters, no spaces); wrote a new one there`,
    ]);
  });
});
