import type { Env as AegisEnv } from "../src/env";

declare global {
  namespace Cloudflare {
    interface Env extends AegisEnv {
      /** The Redis the workerd conformance run talks to over cloudflare:sockets. */
      TEST_REDIS_URL?: string;
    }
  }
}
