// A webhook receiver for tests: verifies every delivery with the standardwebhooks package
// and answers as each mailbox's script says.
//
//   POST /hooks/<box>/<script>   script: statuses for the 1st, 2nd, ... delivery, comma
//                                separated; the last repeats. "503r7" adds Retry-After: 7.
//   GET  /hooks/<box>/log        what the box received: id, timestamp, verified, body

import http from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { TEST_WEBHOOK_SECRET } from "./webhook-secret";

interface Received {
  id: string;
  timestamp: string;
  signature: string;
  verified: boolean;
  body: unknown;
}

export async function startWebhookReceiver(): Promise<{ url: string; close(): Promise<void> }> {
  const boxes = new Map<string, Received[]>();
  const verifier = new Webhook(TEST_WEBHOOK_SECRET);
  const server = http.createServer((req, res) => {
    const [, hooks, box, script] = (req.url ?? "").split("?")[0]?.split("/") ?? [];
    if (hooks !== "hooks" || !box) {
      res.writeHead(404).end();
      return;
    }
    if (req.method === "GET" && script === "log") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(boxes.get(box) ?? []));
      return;
    }
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const headers = {
        "webhook-id": String(req.headers["webhook-id"] ?? ""),
        "webhook-timestamp": String(req.headers["webhook-timestamp"] ?? ""),
        "webhook-signature": String(req.headers["webhook-signature"] ?? ""),
      };
      let verified = false;
      try {
        verifier.verify(raw, headers);
        verified = true;
      } catch {
        verified = false;
      }
      const log = boxes.get(box) ?? [];
      log.push({
        id: headers["webhook-id"],
        timestamp: headers["webhook-timestamp"],
        signature: headers["webhook-signature"],
        verified,
        body: JSON.parse(raw),
      });
      boxes.set(box, log);
      const steps = (script ?? "200").split(",");
      const step = steps[Math.min(log.length, steps.length) - 1] ?? "200";
      const [status, retryAfter] = step.split("r");
      res.writeHead(Number(status), retryAfter ? { "retry-after": retryAfter } : {}).end("ok");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
