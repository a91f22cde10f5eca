import type { Env as AegisEnv } from "../src/env";

declare global {
  namespace Cloudflare {
    interface Env extends AegisEnv {}
  }
}
