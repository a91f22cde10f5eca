// Operator routes for tenants and their quotas.

import { createRoute } from "@hono/zod-openapi";
import { isTenantId } from "../../core/secrets";
import { openApiApp } from "../context";
import { decodeCursor, encodeCursor } from "../cursor";
import {
  CreateTenantSchema,
  json,
  ListQuerySchema,
  OverrideSchema,
  problems,
  QuotaSchema,
  TenantIdParamSchema,
  TenantListSchema,
  TenantSchema,
  UpdateTenantSchema,
} from "../schemas";
import { tenantAdmin } from "../tenant-admin";

const security = [{ adminToken: [] }];
const tags = ["Tenants"];

export const tenantRoutes = openApiApp()
  .openapi(
    createRoute({
      method: "post",
      path: "/tenants",
      tags,
      security,
      summary: "Create a tenant",
      request: { body: { ...json(CreateTenantSchema), required: true } },
      responses: { 201: { description: "The new tenant", ...json(TenantSchema) }, ...problems(400, 401, 413) },
    }),
    async (c) => {
      return c.json(await tenantAdmin(c).create(c.req.valid("json")), 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/tenants",
      tags,
      security,
      summary: "List tenants in creation order",
      request: { query: ListQuerySchema },
      responses: { 200: { description: "A page of tenants", ...json(TenantListSchema) }, ...problems(400, 401) },
    }),
    async (c) => {
      const { limit, cursor } = c.req.valid("query");
      const page = await tenantAdmin(c).list({ limit, after: cursor ? decodeCursor(cursor, isTenantId) : undefined });
      return c.json({ tenants: page.tenants, nextCursor: page.next ? encodeCursor(page.next) : null }, 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/tenants/{id}",
      tags,
      security,
      summary: "Read a tenant",
      request: { params: TenantIdParamSchema },
      responses: { 200: { description: "The tenant", ...json(TenantSchema) }, ...problems(400, 401, 404) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      return c.json(await tenantAdmin(c).get(id), 200);
    },
  )
  .openapi(
    createRoute({
      method: "patch",
      path: "/tenants/{id}",
      tags,
      security,
      summary: "Rename, suspend or reactivate a tenant",
      description: "Suspension takes effect on the tenant's next request.",
      request: { params: TenantIdParamSchema, body: { ...json(UpdateTenantSchema), required: true } },
      responses: { 200: { description: "The tenant", ...json(TenantSchema) }, ...problems(400, 401, 404, 502) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      return c.json(await tenantAdmin(c).update(id, c.req.valid("json")), 200);
    },
  )
  .openapi(
    createRoute({
      method: "put",
      path: "/tenants/{id}/quota",
      tags,
      security,
      summary: "Replace a tenant's quota",
      description: "Takes effect on the tenant's next request. Bucket levels and today's usage carry over.",
      request: { params: TenantIdParamSchema, body: { ...json(QuotaSchema), required: true } },
      responses: { 200: { description: "The tenant", ...json(TenantSchema) }, ...problems(400, 401, 404, 502) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      return c.json(await tenantAdmin(c).setQuota(id, c.req.valid("json")), 200);
    },
  )
  .openapi(
    createRoute({
      method: "put",
      path: "/tenants/{id}/override",
      tags,
      security,
      summary: "Raise or lower a tenant's limits until a given time",
      description:
        "The override's fields replace the quota's from the tenant's next request until `until`; then the quota applies again by itself. A new override replaces the old one.",
      request: { params: TenantIdParamSchema, body: { ...json(OverrideSchema), required: true } },
      responses: { 200: { description: "The tenant", ...json(TenantSchema) }, ...problems(400, 401, 404, 502) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      return c.json(await tenantAdmin(c).setOverride(id, c.req.valid("json")), 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/tenants/{id}/override",
      tags,
      security,
      summary: "End a tenant's override now",
      description: "The quota applies again from the tenant's next request. Ending no override succeeds.",
      request: { params: TenantIdParamSchema },
      responses: { 200: { description: "The tenant", ...json(TenantSchema) }, ...problems(400, 401, 404, 502) },
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      return c.json(await tenantAdmin(c).setOverride(id, null), 200);
    },
  );
