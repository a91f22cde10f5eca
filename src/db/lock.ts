// The advisory lock between invoice runs (exclusive) and usage ingest (shared).

/** "aegis" in ASCII, as a bigint key. */
export const BILLING_LOCK = 0x6165676973;
