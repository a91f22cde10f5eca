// Values the workerd tests' global setup provides (see workers-setup.ts).
import "vitest";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    wsProxy: string;
    upstreamUrl: string;
    webhookUrl: string;
  }
}
