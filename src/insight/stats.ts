// What pool.stats() returns, and the running sums it is made from: cheap to keep, cheap to read.
import type { WorkerEnd } from '../errors.js';

/** One settled chunk, as the mpool:chunk channel publishes it. Times are ms since the epoch. */
export interface ChunkSample {
  /** The pool it ran in (see newPoolId). */
  pool: number;
  /** The call it belongs to (one map, one apply). */
  call: number;
  chunk: number;
  fn: string;
  items: number;
  /** The worker that ran it (0: none did, for instance an argument that could not be sent). */
  worker: number;
  /** How many times it was sent to a worker (more than once after a lost worker, with `retries`). */
  attempts: number;
  queuedAt: number;
  sentAt: number;
  /** When its worker started it, by the worker's clock; 0 when no worker reported it. */
  startedAt: number;
  /** How long it ran on its worker. */
  runMs: number;
  settledAt: number;
  /** Its share of the time spent building and sending the batch it went in. */
  copyMs: number;
  ok: boolean;
  error: unknown;
}

/** One worker in pool.stats(). Times are in ms. */
export interface WorkerStats {
  /** The pool's number for it (the `workerId` the initializer sees). */
  id: number;
  /** A child process's pid (undefined for threads). */
  pid: number | undefined;
  /** A worker thread's threadId (undefined for processes). */
  threadId: number | undefined;
  state: 'starting' | 'idle' | 'busy' | 'stopping';
  chunks: number;
  items: number;
  /** Chunks that failed (their task threw). */
  failed: number;
  /** Time running tasks, as the worker measured it. */
  busyMs: number;
  /** Time building and copying its messages: arguments on the pool's side, results on the worker's. */
  copyMs: number;
  /** Time since it started that it spent neither running nor copying. */
  idleMs: number;
  /** The worker's V8 heap in use, in bytes, as it last reported it (after a batch). */
  heapUsed: number | undefined;
  /** The worker this one replaced, and the typed kind and words of what ended that one. */
  replaced: { id: number; kind: WorkerEnd; reason: string } | undefined;
}

/** A snapshot of the pool, from pool.stats(). */
export interface PoolStats {
  runtime: 'thread' | 'process' | 'redis';
  /** Per local worker; empty on Redis, whose workers live on the nodes. */
  workers: WorkerStats[];
  /** Chunks waiting for a worker. */
  queued: number;
  /** Chunks sent to a worker that it has not started yet (it holds them behind the one it runs). */
  sent: number;
  /** Chunks a worker has started and not yet settled. On Redis: chunks a node has taken. */
  running: number;
  /** Chunks settled with results, and their items. */
  done: number;
  doneItems: number;
  /** Chunks that failed, and their items. */
  failed: number;
  failedItems: number;
  /** Items settled per second over the last few seconds. */
  itemsPerSecond: number;
  /** How long a chunk ran on its worker, over the latest chunks (up to 4,096); null before the first. */
  taskMs: { median: number; p99: number } | null;
  /** Time workers spent running tasks, and building and copying messages, summed over every chunk so far. */
  busyMs: number;
  copyMs: number;
  /** How many workers ended, by what ended them. */
  ended: Partial<Record<WorkerEnd, number>>;
}

const SAMPLES = 4096;
const RATE_WINDOW_S = 5;

/** Running sums of settled chunks: counts, a rate over the last seconds, and recent run times. */
export class Tally {
  done = 0;
  doneItems = 0;
  failed = 0;
  failedItems = 0;
  busyMs = 0;
  copyMs = 0;
  readonly ended: Partial<Record<WorkerEnd, number>> = {};
  readonly #runs = new Float64Array(SAMPLES);
  #runCount = 0;
  /** Items settled in each of the last seconds, by second (ring of RATE_WINDOW_S + 1). */
  readonly #perSecond = new Float64Array(RATE_WINDOW_S + 1);
  #second = 0;
  #firstAt = 0;

  /**
   * A settled chunk: whether it succeeded, its items, whether a worker reported running it and for how long,
   * and when it settled (any clock in ms, the same one rate() is asked with).
   */
  add(ok: boolean, items: number, ran: boolean, runMs: number, at: number): void {
    if (ok) {
      this.done++;
      this.doneItems += items;
    } else {
      this.failed++;
      this.failedItems += items;
    }
    this.busyMs += runMs;
    if (ran) this.#runs[this.#runCount++ % SAMPLES] = runMs;
    this.#count(at, items);
  }

  /** The pool-wide figures of stats() that these sums make; `now` on the clock add() was given. */
  snapshot(now: number): Omit<PoolStats, 'runtime' | 'workers' | 'queued' | 'sent' | 'running'> {
    return {
      done: this.done,
      doneItems: this.doneItems,
      failed: this.failed,
      failedItems: this.failedItems,
      itemsPerSecond: this.rate(now),
      taskMs: this.taskMs(),
      busyMs: this.busyMs,
      copyMs: this.copyMs,
      ended: { ...this.ended },
    };
  }

  /** Time spent building and sending work to workers (ms). */
  copied(ms: number): void {
    this.copyMs += ms;
  }

  workerEnded(kind: WorkerEnd): void {
    this.ended[kind] = (this.ended[kind] ?? 0) + 1;
  }

  #count(at: number, items: number): void {
    const second = Math.floor(at / 1000);
    if (this.#firstAt === 0) this.#firstAt = at;
    this.#advance(second);
    this.#perSecond[second % this.#perSecond.length]! += items;
  }

  #advance(second: number): void {
    if (second <= this.#second) return;
    const slots = this.#perSecond.length;
    for (let s = Math.max(this.#second + 1, second - slots + 1); s <= second; s++)
      this.#perSecond[s % slots] = 0;
    this.#second = second;
  }

  /** Items per second over the last RATE_WINDOW_S whole seconds and the current part of one. */
  rate(now: number): number {
    if (this.#firstAt === 0) return 0;
    const second = Math.floor(now / 1000);
    this.#advance(second);
    let items = 0;
    for (const n of this.#perSecond) items += n;
    const windowStart = Math.max(this.#firstAt, (second - RATE_WINDOW_S) * 1000);
    const span = (now - windowStart) / 1000;
    return span > 0 ? items / span : 0;
  }

  taskMs(): { median: number; p99: number } | null {
    const n = Math.min(this.#runCount, SAMPLES);
    if (n === 0) return null;
    const sorted = this.#runs.slice(0, n).sort();
    return {
      median: sorted[Math.floor((n - 1) / 2)]!,
      p99: sorted[Math.min(n - 1, Math.ceil(n * 0.99) - 1)]!,
    };
  }
}
