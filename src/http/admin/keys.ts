// Operator routes for a tenant's API keys. A key is shown once, at creation; only its hash is kept.

import { createRoute } from "@hono/zod-openapi";
import type { Config } from "../../config";
import { newApiKey } from "../../core/api-keys";
import { newKeyId, sha256Hex } from "../../core/secrets";
import { createKey, getTenant, listKeys, revokeKey } from "../../db/tenants";
import { defaultLimits } from "../../defaults";
import { openApiApp } from "../context";
import { Problem } from "../problem";
import {
  CreatedKeySchema,
  CreateKeySchema,
  KeyIdParamSchema,
  KeyListSchema,
  problems,
  TenantIdParamSchema,
} from "../schemas";
import { pushSnapshot } from "./sync";
import { noSuchTenant } from "./tenants";

let warnedUnsigned = false;

/** A new key for the tenant, signed with the first KEY_SIGNING_SECRET; warns once if there is none. */
export async function mintKey(config: Config, tenantId: string): Promise<{ key: string; prefix: string }> {
  const secret = config.KEY_SIGNING_SECRET[0];
  if (!secret && !warnedUnsigned) {
    warnedUnsigned = true;
    console.warn(
      JSON.stringify({
        msg: "KEY_SIGNING_SECRET is not set: new API keys are unsigned, and made-up keys cost a lookup each",
      }),
    );
  }
  return newApiKey(tenantId, secret);
}

const security = [{ adminToken: [] }];
const tags = ["API keys"];
const json = <T>(schema: T) => ({ content: { "application/json": { schema } } });

export const keyRoutes = openApiApp()
  .openapi(
    createRoute({
      method: "post",
      path: "/tenants/{id}/keys",
      tags,
      security,
      summary: "Create an API key",
      description: "The response holds the key itself. It is never shown again.",
      request: { params: TenantIdParamSchema, body: { ...json(CreateKeySchema), required: false } },
      responses: { 201: { description: "The new key", ...json(CreatedKeySchema) }, ...problems(400, 401, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const body = c.req.valid("json");
      const { key, prefix } = await mintKey(c.get("config"), id);
      const row = { id: newKeyId(), prefix, keyHash: await sha256Hex(key), name: body.name ?? null };
      const changed = await createKey(c.get("db"), id, row, defaultLimits(c.get("config")));
      if (!changed) throw noSuchTenant(id);
      await pushSnapshot(c, changed.snapshot, false);
      c.header("Cache-Control", "no-store");
      return c.json(
        { id: row.id, key, prefix, name: row.name, createdAt: new Date().toISOString(), revokedAt: null },
        201,
      );
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/tenants/{id}/keys",
      tags,
      security,
      summary: "List a tenant's API keys (without the secrets)",
      request: { params: TenantIdParamSchema },
      responses: { 200: { description: "The keys", ...json(KeyListSchema) }, ...problems(400, 401, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      if (!(await getTenant(c.get("db"), id, defaultLimits(c.get("config"))))) throw noSuchTenant(id);
      return c.json({ keys: await listKeys(c.get("db"), id), nextCursor: null }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/tenants/{id}/keys/{keyId}",
      tags,
      security,
      summary: "Revoke an API key",
      description: "The key fails on its next request. Revoking a revoked key succeeds again.",
      request: { params: KeyIdParamSchema },
      responses: { 204: { description: "Revoked" }, ...problems(400, 401, 404, 502) },
    }),
    async (c) => {
      const { id, keyId } = c.req.valid("param");
      const { result, found } = await revokeKey(c.get("db"), id, keyId, defaultLimits(c.get("config")));
      if (!result) throw noSuchTenant(id);
      if (!found) throw new Problem(404, "key-not-found", `tenant ${id} has no key ${keyId}`);
      await pushSnapshot(c, result.snapshot, true);
      return c.body(null, 204);
    },
  );
