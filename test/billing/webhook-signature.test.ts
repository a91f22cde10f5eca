import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { isWebhookSecret, signWebhook } from "../../src/core/webhook-signature";

const secret = `whsec_${Buffer.from("0123456789abcdef0123456789abcdef").toString("base64")}`;
const next = `whsec_${Buffer.from("fedcba9876543210fedcba9876543210").toString("base64")}`;

async function headers(secrets: string[], body: string, at = Math.floor(Date.now() / 1000)) {
  return {
    "webhook-id": "msg_2ZlSXX2v3Xo",
    "webhook-timestamp": String(at),
    "webhook-signature": await signWebhook(secrets, "msg_2ZlSXX2v3Xo", at, body),
  };
}

describe("Standard Webhooks signatures", () => {
  const body = JSON.stringify({ type: "invoice.created", data: { id: "inv_1", amountMinor: 150 } });

  it("verify with the standardwebhooks library", async () => {
    expect(new Webhook(secret).verify(body, await headers([secret], body))).toEqual(JSON.parse(body));
  });

  it("verify with either secret while rotating", async () => {
    const h = await headers([secret, next], body);
    expect(h["webhook-signature"].split(" ")).toHaveLength(2);
    expect(new Webhook(secret).verify(body, h)).toEqual(JSON.parse(body));
    expect(new Webhook(next).verify(body, h)).toEqual(JSON.parse(body));
  });

  it("fail for a tampered body, a stale timestamp or another secret", async () => {
    const h = await headers([secret], body);
    expect(() => new Webhook(secret).verify(body.replace("150", "15"), h)).toThrow();
    const stale = await headers([secret], body, Math.floor(Date.now() / 1000) - 10 * 60);
    expect(() => new Webhook(secret).verify(body, stale)).toThrow();
    expect(() => new Webhook(next).verify(body, h)).toThrow();
  });

  it("accept only whsec_ secrets of at least 24 bytes", () => {
    expect(isWebhookSecret(secret)).toBe(true);
    expect(isWebhookSecret("whsec_c2hvcnQ=")).toBe(false);
    expect(isWebhookSecret("sk_live_abc")).toBe(false);
    expect(isWebhookSecret("whsec_!!!")).toBe(false);
  });
});
