// `aegis-edge/hono`: the middleware and functions for embedding the limiter in another Hono app.

export { TenantLimiter } from "./durable/tenant-limiter";
export * from "./hono-portable";
