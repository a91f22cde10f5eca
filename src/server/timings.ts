// The self-hosted server's fixed timings and sizes, in one place because docs/self-hosting.md
// and the README quote them to operators sizing probes, grace periods and connection limits
// (test/project/operator-docs.test.ts holds the docs to these values).

/** The usage consumer's wait after a poll that read nothing. */
export const IDLE_POLL_MS = 200;
/** How often expired reservations are swept. */
export const SWEEP_EVERY_MS = 5_000;
/** The consumer's and the sweeper's command timeout: they move whole batches. */
export const BACKGROUND_TIMEOUT_MS = 10_000;
/** How long a shutdown lets requests in flight finish before cutting their connections. */
export const SHUTDOWN_GRACE_MS = 10_000;
/** How long a shutdown waits for a sweep in flight. */
export const SHUTDOWN_POLL_WAIT_MS = 3_000;
/** Each readiness probe's bound. */
export const PROBE_TIMEOUT_MS = 2_000;
/** Postgres connections per instance. */
export const PG_POOL_MAX = 10;
