// Operator routes for a tenant's API keys. A key is shown once, at creation; only its hash is kept.

import { createRoute } from "@hono/zod-openapi";
import { openApiApp } from "../context";
import {
  CreatedKeySchema,
  CreateKeySchema,
  json,
  KeyIdParamSchema,
  KeyListSchema,
  KeySchema,
  problems,
  TenantIdParamSchema,
  UpdateKeySchema,
} from "../schemas";
import { tenantAdmin } from "../tenant-admin";

const security = [{ adminToken: [] }];
const tags = ["API keys"];

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
      const { key, view } = await tenantAdmin(c).createKey(id, body.name ?? null, body.limits ?? null);
      c.header("Cache-Control", "no-store");
      return c.json({ ...view, key }, 201);
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
      return c.json({ keys: await tenantAdmin(c).listKeys(id), nextCursor: null }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/tenants/{id}/keys/{keyId}",
      tags,
      security,
      summary: "Set or clear an API key's own limits",
      description:
        "The key's buckets apply on top of the tenant's, on its next request; null removes them. A revoked key keeps its limits for the record.",
      request: { params: KeyIdParamSchema, body: { ...json(UpdateKeySchema), required: true } },
      responses: { 200: { description: "The key", ...json(KeySchema) }, ...problems(400, 401, 404, 502) },
    }),
    async (c) => {
      const { id, keyId } = c.req.valid("param");
      return c.json(await tenantAdmin(c).setKeyLimits(id, keyId, c.req.valid("json").limits), 200);
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
      await tenantAdmin(c).revokeKey(id, keyId);
      return c.body(null, 204);
    },
  );
