// Shares PGlite's single session among wire-protocol connections, one whole batch at a time.

import type { PGlite } from "@electric-sql/pglite";
import type { PGLiteSocketHandlerOptions } from "@electric-sql/pglite-socket";

/** What PGLiteSocketHandler calls on its queue. */
export type QueryQueue = Pick<
  PGLiteSocketHandlerOptions["queryQueue"],
  "enqueue" | "clearQueueForHandler" | "clearTransactionIfNeeded" | "getQueueLength"
>;

const code = (c: string) => c.charCodeAt(0);
const QUERY = code("Q");
const SYNC = code("S");
const TERMINATE = code("X");
// After these a client may be between batches. PGlite's 'Z' cannot tell: it can send one
// after a single extended-protocol message too (electric-sql/pglite#223).
const BATCH_ENDS = new Set([QUERY, SYNC, TERMINATE]);

/** A simple-protocol Query message. */
function query(sql: string): Uint8Array {
  const text = Buffer.from(`${sql}\0`, "utf8");
  const out = Buffer.alloc(5 + text.length);
  out[0] = QUERY;
  out.writeInt32BE(4 + text.length, 1);
  text.copy(out, 5);
  return out;
}
const ROLLBACK = query("ROLLBACK");
const SYNC_MESSAGE = Uint8Array.of(SYNC, 0, 0, 0, 4);

interface Job {
  handlerId: number;
  /** null: release the session from a disconnected handler, in turn, never under a running message. */
  message: Uint8Array | null;
  onData: (data: Uint8Array) => void;
  resolve: (bytes: number) => void;
  reject: (err: Error) => void;
}

/**
 * pglite-socket's own queue runs each message in arrival order across connections, so one
 * connection's Parse can replace another's unnamed statement before that one's Bind
 * (electric-sql/pglite#1046). Here the connection whose message runs owns the session until its
 * batch ends (Query, Sync or Terminate) and for as long as a transaction stays open after that;
 * everyone else's messages wait, in arrival order.
 */
export class PGliteSerialQueue implements QueryQueue {
  private jobs: Job[] = [];
  private owner: number | null = null;
  private draining = false;

  constructor(private readonly db: PGlite) {}

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    return this.push(handlerId, message, onData);
  }

  getQueueLength(): number {
    return this.jobs.length;
  }

  clearQueueForHandler(handlerId: number): void {
    // A handler can detach twice (socket error, then close); the first detach's release must survive the second.
    this.jobs = this.jobs.filter((job) => {
      if (job.handlerId !== handlerId || job.message === null) return true;
      job.reject(new Error("Handler disconnected"));
      return false;
    });
  }

  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    if (this.owner === handlerId) await this.push(handlerId, null, () => {});
  }

  private push(handlerId: number, message: Uint8Array | null, onData: (data: Uint8Array) => void) {
    return new Promise<number>((resolve, reject) => {
      this.jobs.push({ handlerId, message, onData, resolve, reject });
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      for (let job = this.take(); job; job = this.take()) await this.run(job);
    } finally {
      this.draining = false;
    }
  }

  /** The owner's oldest job (none yet: wait for it, leaving the rest queued), or else the oldest. */
  private take(): Job | undefined {
    const at = this.owner === null ? 0 : this.jobs.findIndex((job) => job.handlerId === this.owner);
    return at < 0 ? undefined : this.jobs.splice(at, 1)[0];
  }

  private async run(job: Job): Promise<void> {
    const { message } = job;
    if (message === null) {
      await this.release(job.handlerId);
      job.resolve(0);
      return;
    }
    this.owner = job.handlerId;
    let bytes = 0;
    try {
      await this.exec(message, (data) => {
        bytes += data.length;
        job.onData(data);
      });
      job.resolve(bytes);
    } catch (err) {
      job.reject(err instanceof Error ? err : new Error(String(err)));
    }
    // A startup message has no type byte; its first byte is the high byte of its length, 0.
    const endsBatch = message[0] === 0 || BATCH_ENDS.has(message[0] ?? -1);
    if (endsBatch && !this.db.isInTransaction()) this.owner = null;
  }

  /**
   * Leaves the session as a fresh connection would find it. ROLLBACK first: a Sync alone would
   * commit the implicit transaction of a batch cut off before its Sync. Then Sync, which ends
   * the batch and the skip-to-Sync mode an error puts the session in (where the ROLLBACK was
   * ignored), and ROLLBACK again for an explicit transaction that was still open under it.
   */
  private async release(handlerId: number): Promise<void> {
    if (this.owner !== handlerId) return;
    const discard = () => {};
    try {
      await this.exec(ROLLBACK, discard);
      await this.exec(SYNC_MESSAGE, discard);
      if (this.db.isInTransaction()) await this.exec(ROLLBACK, discard);
    } catch (err) {
      // The handler awaiting this is tearing down and has nobody to tell; the others must go on.
      console.error(`aegis: embedded Postgres: cleanup after a dropped connection failed: ${String(err)}`);
    }
    this.owner = null;
  }

  private exec(message: Uint8Array, onRawData: (data: Uint8Array) => void): Promise<void> {
    return this.db.runExclusive(() => this.db.execProtocolRawStream(message, { onRawData }));
  }
}
