// npm start's demo tenant (scripts/lib/seed.ts), against a self-hosted gateway: each start
// mints a new key and revokes the demo keys of earlier starts, and no other key.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedDemoTenant } from "../../scripts/lib/seed";
import { startTestGateway, type TestGateway } from "../support/test-gateway";

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway("demo_seed");
}, 60_000);
afterAll(async () => {
  await gateway?.stop();
});

const limitsWith = async (key: string) => {
  const res = await fetch(`${gateway.url}/account/v1/limits`, { headers: { authorization: `Bearer ${key}` } });
  await res.arrayBuffer();
  return res.status;
};

describe("the demo tenant npm start seeds", () => {
  it("is made once; every start's key works, and the earlier starts' keys are revoked", async () => {
    const first = await seedDemoTenant(gateway.url, gateway.token);
    expect(first).toMatchObject({ created: true, revoked: 0 });
    expect(await limitsWith(first.key)).toBe(200);
    // A key the operator made for the demo tenant by hand is not npm start's to revoke.
    const own = await fetch(`${gateway.url}/admin/v1/tenants/${first.tenantId}/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${gateway.token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "mine" }),
    });
    const mine = ((await own.json()) as { key: string }).key;

    const second = await seedDemoTenant(gateway.url, gateway.token);
    expect(second).toMatchObject({ tenantId: first.tenantId, created: false, revoked: 1 });
    expect(await limitsWith(second.key)).toBe(200);
    expect(await limitsWith(first.key)).toBe(401);

    const third = await seedDemoTenant(gateway.url, gateway.token);
    expect(third.revoked).toBe(1);
    expect(await limitsWith(second.key)).toBe(401);
    expect(await limitsWith(third.key)).toBe(200);
    expect(await limitsWith(mine)).toBe(200);
  });
});
