// The gateway checks every call's route key with isRouteKey(), and asks routeKeySchema only
// for one that fails, to say why. The two must agree on every string, or a key the schema
// refuses would pass unchecked (or one it accepts be refused without a reason).

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isRouteKey, routeKeySchema } from "../../src/config";
import { memoryStore } from "../../src/core/memory-store";
import { enforce } from "../../src/http/enforce";
import { Problem } from "../../src/http/problem";

const keyish = fc.oneof(
  fc.constantFrom(
    "daily",
    "concurrency",
    "key",
    "chat",
    "v1.chat",
    "a",
    "-a",
    ".a",
    "a b",
    "",
    "x".repeat(64),
    "x".repeat(65),
  ),
  fc.stringMatching(/^[A-Za-z0-9._\- /]{0,70}$/),
  fc.string({ maxLength: 70 }),
);

describe("route keys", () => {
  it("isRouteKey accepts exactly what routeKeySchema accepts", () => {
    fc.assert(
      fc.property(keyish, (route) => {
        expect(isRouteKey(route)).toBe(routeKeySchema.safeParse(route).success);
      }),
      { numRuns: 5_000 },
    );
  });

  it("refuses a call to an invalid route key with a 400 that says why, before the limiter", async () => {
    const store = memoryStore();
    for (const route of ["daily", "key", "a b", ""]) {
      const refused = await enforce(store, "tnaaaaaaaaaaaaaaar", { route }).then(
        () => null,
        (err: unknown) => err,
      );
      expect(refused).toBeInstanceOf(Problem);
      expect((refused as Problem).status).toBe(400);
      expect((refused as Problem).message).toMatch(/route key/);
    }
  });
});
