// Operator authentication: a bearer ADMIN_TOKEN, compared in constant time.

import type { MiddlewareHandler } from "hono";
import { secretsEqual } from "../../core/secrets";
import { bearerToken, unauthorized } from "../api-key";
import type { GatewayEnv } from "../context";
import { Problem } from "../problem";

export function adminAuth(): MiddlewareHandler<GatewayEnv> {
  return async function adminAuthMiddleware(c, next) {
    const expected = c.get("config").ADMIN_TOKEN;
    if (!expected) {
      throw new Problem(503, "admin-disabled", "the operator API is disabled because ADMIN_TOKEN is not set");
    }
    const presented = bearerToken(c);
    if (!presented) throw unauthorized("send the operator token as 'Authorization: Bearer <ADMIN_TOKEN>'");
    if (!(await secretsEqual(presented, expected))) throw unauthorized("the operator token is wrong");
    await next();
  };
}
