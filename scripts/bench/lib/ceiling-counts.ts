// What bench:do-ceiling's fixture (fixtures/ceiling-worker.ts) reads from one tenant's
// TenantLimiter after a run: shared by the fixture (workerd) and the bench script (Node).

export interface LimiterCounts {
  /**
   * Rows the object ever appended to its outbox, sent or not (its AUTOINCREMENT sequence):
   * its usage events, as the bench's tenants cross no quota alert.
   */
  appended: number;
  /** Events still in the outbox (the rest went to the usage queue), their units, and how many are estimated. */
  pending: number;
  pendingUnits: number;
  pendingEstimated: number;
  /** Leases the DO still holds (not closed by their holder). */
  leasesHeld: number;
  /** Check calls the object served, and the leases they granted. */
  checks: number;
  leasesGranted: number;
  /** Lease reports applied, and the calls they carried. */
  reports: number;
  reportedCalls: number;
}
