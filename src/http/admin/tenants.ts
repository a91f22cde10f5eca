// Operator routes for tenants and their quotas.

import { createRoute } from "@hono/zod-openapi";
import { isTenantId, newTenantId } from "../../core/secrets";
import { createTenant, getTenant, listTenants, setQuota, updateTenant } from "../../db/tenants";
import { defaultLimits } from "../../defaults";
import { openApiApp } from "../context";
import { decodeCursor, encodeCursor } from "../cursor";
import { Problem } from "../problem";
import {
  CreateTenantSchema,
  ListQuerySchema,
  problems,
  QuotaSchema,
  TenantIdParamSchema,
  TenantListSchema,
  TenantSchema,
  UpdateTenantSchema,
} from "../schemas";
import { pushSnapshot } from "./sync";

const security = [{ adminToken: [] }];
const tags = ["Tenants"];
const json = <T>(schema: T) => ({ content: { "application/json": { schema } } });

export const noSuchTenant = (id: string) => new Problem(404, "tenant-not-found", `no tenant with id ${id}`);

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
      const body = c.req.valid("json");
      const defaults = defaultLimits(c.get("config"));
      const { snapshot, view } = await createTenant(
        c.get("db"),
        {
          id: newTenantId(),
          name: body.name,
          status: body.status ?? "active",
          billingAccountId: body.billingAccountId,
          quota: body.quota ?? defaults,
        },
        defaults,
      );
      await pushSnapshot(c, snapshot, false);
      return c.json(view, 201);
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
      const page = await listTenants(
        c.get("db"),
        { limit, after: cursor ? decodeCursor(cursor, isTenantId) : undefined },
        defaultLimits(c.get("config")),
      );
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
      const view = await getTenant(c.get("db"), id, defaultLimits(c.get("config")));
      if (!view) throw noSuchTenant(id);
      return c.json(view, 200);
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
      const changed = await updateTenant(c.get("db"), id, c.req.valid("json"), defaultLimits(c.get("config")));
      if (!changed) throw noSuchTenant(id);
      await pushSnapshot(c, changed.snapshot, true);
      return c.json(changed.view, 200);
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
      const changed = await setQuota(c.get("db"), id, c.req.valid("json"), defaultLimits(c.get("config")));
      if (!changed) throw noSuchTenant(id);
      await pushSnapshot(c, changed.snapshot, true);
      return c.json(changed.view, 200);
    },
  );
