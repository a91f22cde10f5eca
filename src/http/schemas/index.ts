// Request and response schemas of the HTTP API. The OpenAPI document and validation both
// come from these, and the client SDK takes its types from them.

export * from "./billing";
export * from "./common";
export * from "./prices";
export * from "./tenants";
export * from "./usage";
