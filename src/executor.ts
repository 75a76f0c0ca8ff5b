// The one small interface between the Python-facing Pool and whatever runs chunks (threads, processes, Redis).
import type { PoolStats } from './insight/stats.js';
import type { FnRef } from './protocol.js';

/**
 * Where a chunk is: waiting in the pool, sent to a worker, running there (known once the worker says so, or
 * its claim cell does), settled (its call has its outcome), or lost with its worker past its retries.
 */
export type ChunkState = 'queued' | 'sent' | 'running' | 'settled' | 'lost';

/**
 * Whoever submitted a chunk (an apply, a map, an imap) and hears its outcome. The executor only hands a
 * settled chunk back (ExecutorHooks.settle); the pool routes the outcome to the chunk's owner, with no table
 * from chunk ids to owners: many tiny applies would each pay for an entry there.
 */
export interface ChunkOwner {
  settle(id: number, result: ChunkResult): void;
  abort(error: unknown, stopRunning: boolean): void;
}

/** One chunk of a call: a few input items that a worker runs in order, as one task (Python's meaning). */
export interface ChunkJob {
  id: number;
  /** The call it belongs to (see newCallId), for the events that report it. */
  call: number;
  /** Who hears its outcome (see ChunkOwner). */
  readonly owner: ChunkOwner;
  fnId: number;
  fn: FnRef;
  /** The chunk's items; an all-number chunk may come as a Float64Array. */
  items: ArrayLike<unknown>;
  star: boolean;
  /** Input position of the first item, so errors can name the item. */
  base: number;
  /** Milliseconds the chunk may run once started; null for no limit. */
  timeout: number | null;
  /** How many more times the chunk may run if its worker is lost. */
  retries: number;
  /**
   * Whether the chunk must have its worker to itself: it has a timeout or can be aborted, either of which
   * stops its worker, and nothing else should be on that worker when that happens.
   */
  exclusive: boolean;
  // The chunk's record, kept on the job itself so that each chunk costs one object. The executor that runs it
  // owns these (locally, only runtime/ledger.ts changes them); a new job starts them at 'queued', 0, 0, null.
  /** Where the chunk is. */
  state: ChunkState;
  /** The worker it was last sent to; 0 before that. */
  worker: number;
  /** How many times it was sent to a worker (more than once after its worker was lost). */
  attempts: number;
  /**
   * When it was queued and sent, and its copying time: only for a chunk queued while mpool:chunk has a
   * subscriber, who is the only one to read them (null otherwise: a task costs no clock read for them).
   */
  times: ChunkTimes | null;
}

/** A chunk's times, for its mpool:chunk message (see ChunkJob.times). */
export interface ChunkTimes {
  /** When it was queued and last sent (-1: not yet), in ms on the executor's clock. */
  queuedAt: number;
  sentAt: number;
  /** Its share of the time spent building and sending the batches it went in, in ms. */
  copyMs: number;
}

export type ChunkResult = { ok: true; values: ArrayLike<unknown> } | { ok: false; error: unknown };

/** How an executor reports back. It never knows about map, imap or callbacks. */
export interface ExecutorHooks {
  /** The pool's id, which the executor's events carry (see newPoolId). */
  readonly pool: number;
  /** A chunk submitted settled, once: its job, as submitted, and its outcome. */
  settle(job: ChunkJob, result: ChunkResult): void;
  /** Chunks left the queue for a worker (see Executor.queued): room for more. */
  dequeued?(): void;
  /** The executor cannot go on (for instance the initializer fails); the pool terminates. */
  fatal(error: Error): void;
}

export interface Executor {
  /** How many chunks can run at once. */
  readonly size: number;
  submit(job: ChunkJob): void;
  /** Drops these chunks; with stopRunning, workers running one of them are stopped and replaced. */
  cancel(ids: ReadonlySet<number>, stopRunning: boolean): void;
  /** Stops the workers once everything submitted has settled. */
  close(): Promise<void>;
  /** Stops the workers now; unsettled chunks are never reported. */
  terminate(): Promise<void>;
  /** Workers running now (between minSize and size; size on Redis, whose nodes own theirs). */
  readonly workers: number;
  /**
   * Chunks submitted that wait for a worker (not sent to one, or sent behind the chunk it runs), less the
   * workers free to take one at once: below zero, that many more chunks would start without waiting.
   */
  readonly queued: number;
  /** A snapshot of what this executor knows of its workers and chunks (see pool.stats()). */
  stats(): Omit<PoolStats, 'runtime'>;
  /** What one item of this function has cost so far (ms, as its workers measured it), once measured. */
  msPerItem?(fnId: number): number | undefined;
  /**
   * The most chunks one map should have submitted and not yet settled, where queued chunks take room the
   * pool does not own (Redis's memory). Absent: a map over an array submits all of its chunks at once.
   */
  readonly window?: number;
}

/** What every executor is built from, after resolveOptions(). */
export interface ExecutorConfig {
  /** The most workers (Python's `processes`). */
  size: number;
  /** Workers kept even when idle; up to `size` more start while work waits. */
  minSize: number;
  /** Milliseconds a worker beyond `minSize` may stay idle before it is stopped. */
  idleTimeout: number;
  initializer: FnRef | null;
  initargs: unknown[];
  maxtasksperchild: number | null;
  maxHeapMb: number | null;
}
