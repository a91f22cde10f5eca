// `aegis-edge` outside Workers: the gateway factory and the limiter middleware, without the
// Worker's handlers and Durable Object class (which need the Workers runtime).

export type { Env } from "./env";
export * from "./hono-portable";
export { createGateway } from "./http/app";
export type { GatewayDeps } from "./http/context";
