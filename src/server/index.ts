// `aegis-edge/server`: the self-hosted gateway (Node, Bun, Deno), to start from your own code.

export { DatabaseNotReadyError } from "./schema-check";
export {
  BILLING_SCHEDULE,
  type SelfHosted,
  SelfHostedConfigError,
  type SelfHostedOptions,
  startSelfHosted,
} from "./self-hosted";
