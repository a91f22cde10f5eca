// The client SDK under Node, Bun and Deno, against a running gateway (the self-hosted
// server): scripts/sdk-smoke.ts on each runtime.

import { execFile } from "node:child_process";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "../../scripts/lib/wrangler-dev";
import type { SelfHosted } from "../../src/server/self-hosted";
import { startTestGateway, type TestGateway } from "../support/test-gateway";

let gateway: TestGateway;
let server: SelfHosted;
let TOKEN = "";

beforeAll(async () => {
  gateway = await startTestGateway("sdk", {
    ROUTES: JSON.stringify([{ method: "POST", path: "/v1/chat/*", route: "chat", cost: 1 }]),
  });
  server = gateway.server;
  TOKEN = gateway.token;
}, 60_000);

afterAll(() => gateway?.stop());

const bin = (name: string) => path.join(ROOT, "node_modules", ".bin", name);
const SCRIPT = path.join(ROOT, "scripts", "sdk-smoke.ts");
const commands: Record<string, [string, string[]]> = {
  node: [bin("tsx"), [SCRIPT]],
  bun: [bin("bun"), [SCRIPT]],
  deno: [bin("deno"), ["run", "-A", "--unstable-sloppy-imports", SCRIPT]],
};

describe("client SDK on every runtime", () => {
  it.each(Object.keys(commands))(
    "%s: limited after its burst, RateLimit fields read, a job billed once",
    async (runtime) => {
      const [cmd, args] = commands[runtime] as [string, string[]];
      const result = await new Promise<{ code: number; out: string; err: string }>((resolve) => {
        execFile(
          cmd,
          args,
          {
            cwd: ROOT,
            timeout: 60_000,
            env: {
              PATH: process.env.PATH ?? "",
              HOME: process.env.HOME ?? "/tmp",
              DENO_NO_UPDATE_CHECK: "1",
              AEGIS_URL: server.url,
              AEGIS_ADMIN_TOKEN: TOKEN,
            },
          },
          (err, out, errOut) => resolve({ code: err ? Number(err.code) : 0, out, err: errOut }),
        );
      });
      expect(result.code, result.err).toBe(0);
      const summary = JSON.parse(result.out.trim().split("\n").at(-1) ?? "{}");
      expect(summary).toEqual({
        runtime,
        statuses: [200, 200, 429],
        policies: ["chat:2", "daily:100"],
        limited: "quota-exceeded",
        duplicate: true,
        same: true,
      });
    },
    90_000,
  );
});
